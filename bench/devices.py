"""Meta-training on the CPU against a GPU, on Online Retail, with the product's settings.

    python -m bench.devices export WORK INPUTS.pkl.gz  # here: the warehouse, then its panel and history
    python -m bench.devices compare INPUTS.pkl.gz     # where CUDA is visible: the table, markdown

``export`` builds the Online Retail warehouse with the pipeline's stages (as the model benchmarks
do) and pickles the demand panel and the purchase history, so that ``compare`` runs on a machine
with a GPU and none of the warehouse's engines (dbt, Prefect). ``compare`` trains the forecaster
and the recommender up to their last EVALUATION origins on the CPU, on the GPU, and (the forecaster)
in two processes sharing the GPU (torchrun; gloo, since nccl refuses two processes on one GPU),
each scored on the days after the origin with docs/evaluation.md's metrics. Training times are
the median of ``--repeats`` trainings with one seed (the same model each time); the machine's
CPU and GPU are side by side in one run.
"""
from __future__ import annotations

import argparse
import gzip
import pickle
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

def export(work: Path, out: Path) -> None:
    import os
    from types import SimpleNamespace

    from bench.run import ONLINE_RETAIL, RECOMMEND_ORIGINS, model_warehouses
    from domain.paths import REPO_ROOT
    from models.panel import load_panel
    from models.recommender.data import load_history
    from pipeline.context import RunContext
    from warehouse import db

    data_dir = model_warehouses(SimpleNamespace(work=work), shops=("Online Retail",))["online"]
    os.environ.update(SHOPCAST_DATA_DIR=str(data_dir), SHOPCAST_SOURCE_CONFIG=str(
        REPO_ROOT / "configs/sources/online_retail.yaml"))
    settings = RunContext.build().settings
    end = date.fromisoformat(ONLINE_RETAIL["end"])
    with db.reader(settings) as con:
        panel, history = load_panel(con, end), load_history(con, end)
    with gzip.open(out, "wb") as fh:  # 40 MiB raw, 4 gzipped: it travels to the GPU machine
        # the last of each model's EVALUATION origins
        origins = {"forecaster": ONLINE_RETAIL["origins"][-1],
                   "recommender": RECOMMEND_ORIGINS["Online Retail"][-1]}
        pickle.dump({"panel": panel, "history": history, "origins": origins,
                     "forecaster": settings.forecaster, "recommender": settings.recommender}, fh)
    print(f"{out}: {out.stat().st_size / 2**20:.1f} MiB")


def _timed(train: Callable, repeats: int):
    seconds, trained = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        trained = train()
        seconds.append(time.perf_counter() - started)
    return trained, statistics.median(seconds)


def compare(inputs: Path, repeats: int, gpu: str = "cuda", outer_steps: int | None = None
            ) -> str:
    """The table; ``gpu`` and ``outer_steps`` other than the defaults make a dry run where
    there is no GPU (the \"GPU\" rows then train on ``gpu``)."""
    import torch

    from models.across import train_across
    from models.forecaster import evaluate as forecast_evaluate
    from models.forecaster.predict import forecast
    from models.forecaster.train import meta_train as train_forecaster
    from models.recommender import evaluate as recommend_evaluate
    from models.recommender.predict import recommend
    from models.recommender.train import meta_train as train_recommender

    with gzip.open(inputs, "rb") as fh:
        loaded = pickle.load(fh)
    origin, rec_origin = (date.fromisoformat(loaded["origins"][m])
                          for m in ("forecaster", "recommender"))
    panel, full = loaded["panel"], loaded["history"]
    history, at_origin = panel.until(origin), full.until(rec_origin)
    steps = {} if outer_steps is None else {"outer_steps": outer_steps}

    def forecaster(cfg, processes: int) -> tuple[float, str]:
        trained, seconds = _timed(lambda: train_across(train_forecaster, history, cfg, processes)
                                  if processes > 1 else train_forecaster(history, cfg, log=None),
                                  repeats)
        by = forecast_evaluate.rolling_origins(
            panel, [origin], {"meta": lambda h: forecast(trained, h)}, log=None
        ).set_index("segment")
        return seconds, (f"WRMSSE all {by.loc['all', 'wrmsse']:.4f}, cold "
                         f"{by.loc['cold', 'wrmsse']:.4f}, total bias "
                         f"{by.loc['all', 'total_bias']:+.1%}")

    def recommender(cfg, processes: int) -> tuple[float, str]:
        trained, seconds = _timed(lambda: train_recommender(at_origin, cfg, log=None), repeats)
        by = recommend_evaluate.rolling_origins(
            full, [rec_origin], {"meta": lambda h, c: recommend(trained, h, c)}, log=None
        ).set_index("segment")
        return seconds, (f"Recall@20 cold {by.loc['cold', 'recall_at_20']:.4f}, warm "
                         f"{by.loc['warm', 'recall_at_20']:.4f}")

    # two processes on the one GPU last: the others are measured whatever becomes of it
    plan = [("forecaster", "CPU", "cpu", 1), ("forecaster", "GPU", gpu, 1),
            ("recommender", "CPU", "cpu", 1), ("recommender", "GPU", gpu, 1),
            ("forecaster", "GPU, 2 processes", gpu, 2)]
    rows = ["| model | where | training s (median) | quality after the origin |",
            "|---|---|---:|---|"]
    times: dict[tuple[str, str], float] = {}
    for model, where, device, processes in plan:
        cfg = loaded[model].model_copy(update={"device": device, **steps})
        seconds, quality = {"forecaster": forecaster, "recommender": recommender}[model](
            cfg, processes)
        times[model, where] = seconds
        rows.append(f"| {model} | {where} | {seconds:.1f} | {quality} |")
        print(rows[-1], flush=True)
    name = torch.cuda.get_device_name(0) if gpu == "cuda" else f"dry run on {gpu}"
    ratios = "; ".join(f"{m} GPU / CPU {times[m, 'GPU'] / times[m, 'CPU']:.2f}x"
                       for m in ("forecaster", "recommender"))
    return "\n".join([
        f"Online Retail, the forecaster up to {origin}, the recommender up to {rec_origin}, "
        f"the product's settings; {name}, torch "
        f"{torch.__version__}, {torch.get_num_threads()} CPU threads; median of {repeats}.",
        "", *rows, "", f"{ratios}; the forecaster in two processes on the one GPU "
        f"{times['forecaster', 'GPU, 2 processes'] / times['forecaster', 'GPU']:.2f}x one "
        "(the process group's start-up and the inputs' hand-over included)."])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export")
    ex.add_argument("work", type=Path)
    ex.add_argument("out", type=Path)
    cmp = sub.add_parser("compare")
    cmp.add_argument("inputs", type=Path)
    cmp.add_argument("--repeats", type=int, default=3)
    cmp.add_argument("--gpu", default="cuda", help="cpu: a dry run where there is no GPU")
    cmp.add_argument("--outer-steps", type=int, help="fewer steps than the product's: a dry run")
    args = parser.parse_args(argv)
    if args.command == "export":
        export(args.work, args.out)
    else:
        print(compare(args.inputs, args.repeats, args.gpu, args.outer_steps))


if __name__ == "__main__":
    main(sys.argv[1:])
