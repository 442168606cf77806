"""Warm-started retraining against training from scratch, on the model benchmarks' harness
(docs/evaluation.md): at each origin after the first, each model is trained on the data up to
it from scratch (two seeds: their difference is the noise a decision must see through) and
warm-started from the model of the origin before (a chain, as a backfill's retrains form one:
the first warm start begins from the first origin's scratch model). All are scored at that
origin with the project's metrics. The gap between origins (14 or 31 days) is longer than the
daily flow's retrain cadence (7), so the warm start is tried on more drift than it meets."""
from __future__ import annotations

import statistics
import time
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd

from models import registry

SCRATCH, OTHER_SEED, WARM = "from scratch", "from scratch, another seed", "warm start"


def compare(data_dir: Path, kind: str, origins: list[date], cfg, log=print) -> dict:
    """Per origin after the first: metrics of the three trainings, and their seconds."""
    if kind == "forecast":
        from models.forecaster.evaluate import rolling_origins
        from models.forecaster.predict import forecast as predict
        from models.forecaster.train import meta_train
        from models.panel import load_panel as load
        last = max(origins) + timedelta(days=28)
    else:
        from models.recommender.data import load_history as load
        from models.recommender.evaluate import rolling_origins
        from models.recommender.predict import recommend as predict
        from models.recommender.train import meta_train
        last = max(origins) + timedelta(days=30)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        full = load(con, last)
    warm_cfg = cfg.model_copy(update={"warm_start_fraction": cfg.warm_start_fraction or 0.25})
    seconds: dict[str, list[float]] = {SCRATCH: [], OTHER_SEED: [], WARM: []}  # every training

    def train(origin: date, name: str, c, start_from=None):
        started = time.perf_counter()
        trained = meta_train(full.until(origin), c, log=None, start_from=start_from)
        trained.version = registry.version_of(trained)
        took = time.perf_counter() - started
        seconds[name].append(took)
        log(f"  {kind} {name} up to {origin}: {took:.0f}s")
        return trained

    parent = train(origins[0], SCRATCH, cfg)
    frames = []
    for origin in origins[1:]:
        models = {SCRATCH: train(origin, SCRATCH, cfg),
                  OTHER_SEED: train(origin, OTHER_SEED, cfg.model_copy(update={"seed": cfg.seed + 1})),
                  WARM: train(origin, WARM, warm_cfg, start_from=parent)}
        parent = models[WARM]
        frames.append(rolling_origins(full, [origin], {name: partial(predict, m)
                                                       for name, m in models.items()}, log=log))
    return {"results": pd.concat(frames).to_dict(orient="records"), "training": seconds,
            "warm_steps": round(cfg.outer_steps * warm_cfg.warm_start_fraction),
            "outer_steps": cfg.outer_steps}


METRICS = {"forecast": [("WRMSSE all", "wrmsse", "all", "lower"), ("WRMSSE cold", "wrmsse", "cold", "lower"),
                        ("weekly WAPE", "weekly_wape", "all", "lower"),
                        ("p10-p90 coverage", "coverage_80", "all", "closer to 0.8")],
           "recommend": [("Recall@20 cold", "recall_at_20", "cold", "higher"),
                         ("Recall@20 warm", "recall_at_20", "warm", "higher"),
                         ("NDCG@20 cold", "ndcg_at_20", "cold", "higher"),
                         ("NDCG@20 warm", "ndcg_at_20", "warm", "higher")]}


def verdicts(kind: str, result: dict) -> list[dict]:
    """Per metric: the means over origins of the three trainings, the seed noise (mean absolute
    difference of the two scratch seeds) and whether the warm start is within it of scratch."""
    rows = pd.DataFrame(result["results"])
    out = []
    for label, metric, segment, better in METRICS[kind]:
        per = rows[rows["segment"] == segment].pivot_table(index="origin", columns="model", values=metric)
        noise = float((per[SCRATCH] - per[OTHER_SEED]).abs().mean())
        gap = float((per[WARM] - per[SCRATCH]).mean())
        worse = -gap if better == "higher" else gap
        if better.startswith("closer"):
            worse = float((per[WARM] - 0.8).abs().mean() - (per[SCRATCH] - 0.8).abs().mean())
        out.append({"metric": label, "scratch": float(per[SCRATCH].mean()),
                    "other seed": float(per[OTHER_SEED].mean()), "warm": float(per[WARM].mean()),
                    "noise": noise, "worse_by": worse, "holds": worse <= noise, "better": better})
    return out


def markdown(compared: dict) -> list[str]:
    """One table per model and shop, then the training time of each kind of training."""
    lines = []
    for (kind, shop), result in compared.items():
        steps = f"{result['warm_steps']} of {result['outer_steps']} outer steps"
        lines += [f"**{kind}, {shop}** (warm start: {steps}; origins "
                  f"{', '.join(sorted({str(r['origin'])[:10] for r in result['results']}))})", "",
                  "| metric | from scratch | another seed | warm start | seed noise | warm worse by | within noise |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for v in verdicts(kind, result):
            lines.append(f"| {v['metric']} ({v['better']}) | {v['scratch']:.4f} | {v['other seed']:.4f} | "
                         f"{v['warm']:.4f} | {v['noise']:.4f} | {v['worse_by']:+.4f} | "
                         f"{'yes' if v['holds'] else '**no**'} |")
        scratch, warm = (statistics.mean(result["training"][n]) for n in (SCRATCH, WARM))
        lines += ["", f"Training seconds: from scratch {scratch:.0f} (mean), warm start {warm:.0f} "
                  f"(mean): {warm / scratch:.2f}x.", ""]
    return lines
