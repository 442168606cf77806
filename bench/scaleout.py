"""Scaling out (`--only scaleout`): a backfill with its per-day work on threads against a local
Dask cluster, and meta-training in one process against two (torchrun).

1. A flat synthetic shop at the foundation's daily volume; its days backfilled with
   `shopcast backfill` (the Prefect flow, its local server), once with the thread runner and
   once with a local two-worker Dask cluster, each into its own data directory; the published
   checksums of the two must be equal (the step fails otherwise).
2. The forecaster meta-trained with the product's settings on the forecast benchmark's synthetic
   shop up to an origin, in one process and across two (models/across.py), each scored on the
   28 days after the origin (docs/evaluation.md's metrics).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

ORIGIN = "2025-10-08"
# a month: every stage runs, the model stages publish the baselines (too little history to
# train), as in the first month of a shop; a year through the flow twice would take about an
# hour more on 2 cores, and only ingest differs between the runners
BACKFILL_DAYS = 31


def section(args, child: Callable, window: Callable, machine: str, markers: tuple[str, str],
            flat_shop: Callable, model_warehouses: Callable) -> str:
    work: Path = args.work / "scaleout"
    days = BACKFILL_DAYS
    runners = {"threads": work / "threads", "dask": work / "dask"}
    shop = flat_shop(days, args.lines_per_day, seed=2028)
    print(f"scaleout: {days} days x {args.lines_per_day:,.0f} lines, threads and Dask",
          flush=True)
    gen = {}
    for name, folder in runners.items():
        folder.mkdir(parents=True, exist_ok=True)
        gen[name] = child({"step": "generate", "shop": shop}, folder)
    runs = {name: child({"step": "cli_backfill", **window(1, days), "runner": name}, folder)
            for name, folder in runners.items()}
    if runs["threads"]["published"] != runs["dask"]["published"]:
        raise RuntimeError("the Dask backfill published other rows than the threads")

    warehouses = model_warehouses(args, shops=("synthetic",))
    data_dir = warehouses["synthetic"]
    trainings = {n: child({"step": "train_processes", "origin": ORIGIN, "processes": n}, data_dir)
                 for n in (1, 2)}

    stages = list(runs["threads"]["stage_seconds"])
    begin, end = markers
    rows = [
        begin,
        "## Scaling out: Dask for the per-day work, training across processes",
        "",
        f"Command: `make bench` (`python -m bench.run --only scaleout`), {machine}.",
        "",
        f"### A backfill of {days} days, threads against a local Dask cluster",
        "",
        f"A flat synthetic shop ({gen['threads']['lines']:,} lines, {args.lines_per_day:,.0f} a "
        "day); `shopcast backfill` over every day (the Prefect flow with its local server), "
        "once per task runner, each in its own data directory and process. On Dask each day's "
        "reading, normalising and staging is a task on a local cluster of 2 worker processes; "
        "the other stages run in the flow's process either way. The published checksums are "
        "equal (checked). One run each.",
        "",
        "| runner | wall s | days per minute | peak MB (largest process) | "
        + " | ".join(f"{s} s" for s in stages) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(stages),
    ]
    for name, run in runs.items():
        rows.append(f"| {name} | {run['seconds']:.0f} | {days / run['seconds'] * 60:.1f} "
                    f"| {run['peak_children_mb']:,.0f} | "
                    + " | ".join(f"{run['stage_seconds'].get(s, 0):.1f}" for s in stages) + " |")
    t, d = runs["threads"], runs["dask"]
    rows += [
        "",
        f"Dask / threads: whole backfill {d['seconds'] / t['seconds']:.2f}x, ingest "
        f"{d['stage_seconds']['ingest'] / t['stage_seconds']['ingest']:.2f}x (on 2 cores the "
        "cluster competes with the flow's process; its use is more machines).",
        "",
        "### Meta-training the forecaster in one process and across two (torchrun, gloo)",
        "",
        f"The forecast benchmark's synthetic shop up to {ORIGIN}, the product's settings; scored "
        "on the 28 days after the origin.",
        "",
        "| processes | training s | WRMSSE all | WRMSSE cold items | total bias |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n, tr in trainings.items():
        rows.append(f"| {n} | {tr['train_s']:.0f} | {tr['wrmsse all']:.4f} | "
                    f"{tr['wrmsse cold']:.4f} | {tr['total_bias all']:+.1%} |")
    one, two = trainings[1], trainings[2]
    rows += [
        "",
        f"Two processes / one: {two['train_s'] / one['train_s']:.2f}x the time (2 cores: the "
        "processes share them, one thread each; the process group's start-up and the inputs' "
        f"hand-over are included); WRMSSE all {two['wrmsse all'] / one['wrmsse all']:.3f}x.",
        end,
    ]
    return "\n".join(rows)
