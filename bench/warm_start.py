"""How often a model must be retrained, and whether a retrain may build on the last model, on the
model benchmarks' harness (docs/evaluation.md). At each origin after the first, each model is
trained on the data up to it from scratch with ``SEEDS`` seeds (their spread is the noise a
decision must see through) and warm-started from the model of the origin before (a chain, as a
backfill's retrains form one: the first warm start begins from the first origin's scratch model).
The scratch models of earlier origins are scored too, adapted to the data up to this origin
without retraining, as a model that keeps serving until its next retrain is: their quality as a
function of age is what a retrain cadence trades against training time. All are scored with the
project's metrics.
"""
from __future__ import annotations

import math
import statistics
import time
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import duckdb
import pandas as pd

from models import registry

SEEDS = 3
SCRATCH, WARM = "from scratch", "warm start"


def seed_name(i: int) -> str:
    return f"{SCRATCH}, seed {i + 1}"


def served_name(back: int) -> str:
    """A model trained ``back`` origins before the one it is scored at."""
    return f"trained {back} origin{'s' if back > 1 else ''} earlier"


def compare(data_dir: Path, kind: str, origins: list[date], cfg, log=print, seeds: int = SEEDS) -> dict:
    """Per origin after the first: metrics of the trainings and of the earlier origins' models,
    and the seconds of every training."""
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
    # warm starts measured even where they are switched off, at the product's default fraction
    warm_cfg = cfg.model_copy(update={"warm_start_fraction": cfg.warm_start_fraction
                                      or type(cfg).model_fields["warm_start_fraction"].default})
    seconds: dict[str, list[float]] = {SCRATCH: [], WARM: []}  # every training

    def train(origin: date, name: str, c, start_from=None):
        started = time.perf_counter()
        trained = meta_train(full.until(origin), c, log=None, start_from=start_from)
        trained.version = registry.version_of(trained)
        took = time.perf_counter() - started
        seconds[SCRATCH if start_from is None else WARM].append(took)
        log(f"  {kind} {name} up to {origin}: {took:.0f}s")
        return trained

    serving = [train(origins[0], seed_name(0), cfg)]  # each origin's first-seed model
    parent = serving[0]
    ages: dict[str, set[int]] = {}  # days between training and scoring, per served model name
    frames = []
    for i, origin in enumerate(origins[1:], start=1):
        models = {seed_name(s): train(origin, seed_name(s), cfg.model_copy(update={"seed": cfg.seed + s}))
                  for s in range(seeds)}
        models[WARM] = train(origin, WARM, warm_cfg, start_from=parent)
        for j, m in enumerate(serving):
            models[served_name(i - j)] = m
            ages.setdefault(served_name(i - j), set()).add((origin - origins[j]).days)
        serving.append(models[seed_name(0)])
        parent = models[WARM]
        frames.append(rolling_origins(full, [origin], {name: partial(predict, m)
                                                       for name, m in models.items()}, log=log))
    return {"results": pd.concat(frames).to_dict(orient="records"), "training": seconds,
            "warm_steps": round(cfg.outer_steps * warm_cfg.warm_start_fraction),
            "outer_steps": cfg.outer_steps, "seeds": seeds,
            "ages": {name: sorted(days) for name, days in ages.items()}}


METRICS = {"forecast": [("WRMSSE all", "wrmsse", "all", "lower"), ("WRMSSE cold", "wrmsse", "cold", "lower"),
                        ("weekly WAPE", "weekly_wape", "all", "lower"),
                        ("p10-p90 coverage", "coverage_80", "all", "closer to 0.8")],
           "recommend": [("Recall@20 cold", "recall_at_20", "cold", "higher"),
                         ("Recall@20 warm", "recall_at_20", "warm", "higher"),
                         ("NDCG@20 cold", "ndcg_at_20", "cold", "higher"),
                         ("NDCG@20 warm", "ndcg_at_20", "warm", "higher")]}


def candidates(result: dict) -> list[str]:
    """The models compared with the scratch seeds: the warm start, then by age."""
    names = {r["model"] for r in result["results"]} - {seed_name(i) for i in range(result["seeds"])}
    served = sorted((n for n in names if n != WARM), key=lambda n: result["ages"][n][0])
    return [WARM, *served]


def verdicts(kind: str, result: dict) -> list[dict]:
    """Per metric: the scratch seeds' mean and spread, and per candidate how much worse than the
    seeds' mean it is (mean over the origins where it was scored, in the metric's worse
    direction; for coverage, the distance to 0.8) against a noise bound: two standard errors of
    that mean difference, from the seeds' pooled within-origin standard deviation s over n
    origins, 2 s sqrt((1 + 1/k) / n) for k seeds (a single training's draw against the mean of
    k). A candidate worse by more than its bound is a loss the seeds cannot explain."""
    rows = pd.DataFrame(result["results"])
    k = result["seeds"]
    seeds = [seed_name(i) for i in range(k)]
    out = []
    for label, metric, segment, better in METRICS[kind]:
        per = rows[rows["segment"] == segment].pivot_table(index="origin", columns="model", values=metric)
        bad = {"lower": per, "higher": -per, "closer to 0.8": (per - 0.8).abs()}[better]
        seed_mean = bad[seeds].mean(axis=1)
        sd = math.sqrt(float(bad[seeds].var(axis=1, ddof=1).mean()))
        row = {"metric": label, "better": better, "scratch": float(per[seeds].to_numpy().mean()),
               "sd": sd, "candidates": {}}
        for name in candidates(result):
            scored = bad[name].dropna()
            worse = float((scored - seed_mean[scored.index]).mean())
            bound = 2 * sd * math.sqrt((1 + 1 / k) / len(scored))
            row["candidates"][name] = {"value": float(per[name].dropna().mean()), "worse_by": worse,
                                       "bound": bound, "holds": worse <= bound, "origins": len(scored)}
        out.append(row)
    return out


def markdown(compared: dict) -> list[str]:
    """One table per model and shop, then the training time of each kind of training."""
    lines = []
    for (kind, shop), result in compared.items():
        names = candidates(result)
        verdict = verdicts(kind, result)
        counts = {n: verdict[0]["candidates"][n]["origins"] for n in names}

        def header(n: str) -> str:
            days = result["ages"].get(n)
            age = f"{days[0]}-{days[-1]} days, " if days and days[0] != days[-1] else \
                f"{days[0]} days, " if days else ""
            return f"{n} ({age}{counts[n]} origin{'s' if counts[n] > 1 else ''})"
        steps = f"{result['warm_steps']} of {result['outer_steps']} outer steps"
        lines += [f"**{kind}, {shop}** (warm start: {steps}; scored at "
                  f"{', '.join(sorted({str(r['origin'])[:10] for r in result['results']}))}; "
                  f"{result['seeds']} scratch seeds at each)", "",
                  "| metric | from scratch (mean; seed sd) | "
                  + " | ".join(header(n) for n in names) + " |",
                  "|---|---:|" + "---:|" * len(names)]
        for v in verdict:
            cells = []
            for n in names:
                c = v["candidates"][n]
                cell = f"{c['value']:.4f} ({c['worse_by']:+.4f} / {c['bound']:.4f})"
                cells.append(cell if c["holds"] else f"**{cell}**")
            lines.append(f"| {v['metric']} ({v['better']}) | {v['scratch']:.4f}; {v['sd']:.4f} | "
                         + " | ".join(cells) + " |")
        scratch, warm = (statistics.mean(result["training"][n]) for n in (SCRATCH, WARM))
        lines += ["", f"Training seconds: from scratch {scratch:.0f} (mean), warm start {warm:.0f} "
                  f"(mean): {warm / scratch:.2f}x.", ""]
    return lines
