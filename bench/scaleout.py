"""Scaling out (`--only scaleout`): a backfill with its per-day work on threads against a local
Dask cluster, and meta-training in one process against two (torchrun).

1. A flat synthetic shop at the foundation's daily volume; its days backfilled with
   `shopcast backfill` (the Prefect flow, its local server), once with the thread runner and
   once with a local two-worker Dask cluster, each into its own data directory; the published
   checksums of the two must be equal (the step fails otherwise).
2. The forecaster meta-trained with the product's settings on the forecast benchmark's synthetic
   shop up to an origin, in one process and across two (models/across.py), each scored on the
   28 days after the origin (docs/evaluation.md's metrics).
3. (`--only scaleyear`) a year at the same daily volume, threads against Dask, through the
   features gate (`shopcast backfill --through features`): the stages that differ between the
   runners, over a year; the model stages run the same code in the flow's process either way.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

ORIGIN = "2025-10-08"
# a month: every stage runs, the model stages publish the baselines (too little history to
# train), as in the first month of a shop; a year through the flow twice would take about an
# hour more on 2 cores, and only ingest differs between the runners
BACKFILL_DAYS = 31
# a year of every stage would publish baselines for most of it (or train ~50 times per model)
# and take about an hour and a half per runner on 2 cores; the runners differ before the models
YEAR_DAYS, YEAR_THROUGH = 365, "features"


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
        *runner_rows(runs, days, stages),
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


def runner_rows(runs: dict, days: int, stages: list[str]) -> list[str]:
    """The runners' table, a row each, then the Dask / threads ratio. Wall s is the bench step:
    the backfill command, then the checksums of what it wrote (equal work for both runners)."""
    rows = [
        "| runner | wall s (command + checksums) | days per minute | peak MB (largest process) | "
        + " | ".join(f"{s} s" for s in stages) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(stages),
    ]
    for name, run in runs.items():
        rows.append(f"| {name} | {run['seconds']:.0f} | {days / run['seconds'] * 60:.1f} "
                    f"| {run['peak_children_mb']:,.0f} | "
                    + " | ".join(f"{run['stage_seconds'].get(s, 0):.1f}" for s in stages) + " |")
    t, d = runs["threads"], runs["dask"]
    return rows + [
        "",
        f"Dask / threads: whole backfill {d['seconds'] / t['seconds']:.2f}x, ingest "
        f"{d['stage_seconds']['ingest'] / t['stage_seconds']['ingest']:.2f}x (on 2 cores the "
        "cluster competes with the flow's process; its use is more machines).",
    ]


def year_section(args, child: Callable, window: Callable, machine: str,
                 markers: tuple[str, str], flat_shop: Callable) -> str:
    """A year's backfill through the features gate, threads against a local Dask cluster: one
    shop generated once, read by both runners from their own data directories."""
    work: Path = args.work / "scaleyear"
    days = YEAR_DAYS
    runners = {"threads": work / "threads", "dask": work / "dask"}
    for folder in runners.values():
        folder.mkdir(parents=True, exist_ok=True)
    print(f"scaleyear: {days} days x {args.lines_per_day:,.0f} lines through {YEAR_THROUGH}, "
          "threads and Dask", flush=True)
    gen = child({"step": "generate", "shop": flat_shop(days, args.lines_per_day, seed=2029)},
                runners["threads"])
    if not (runners["dask"] / "landing").exists():
        (runners["dask"] / "landing").symlink_to(runners["threads"] / "landing")
    # the Dask run's landing folder is the threads run's: a folder sources may read
    env = {"SHOPCAST_LANDING_ROOTS": json.dumps([str(runners["threads"] / "landing")]),
           "SHOPCAST_DASK_WORKERS": os.environ.get("SHOPCAST_DASK_WORKERS", "2")}
    runs = {name: child({"step": "cli_backfill", **window(1, days), "runner": name,
                         "through": YEAR_THROUGH}, folder, env)
            for name, folder in runners.items()}
    if runs["threads"]["written"] != runs["dask"]["written"]:
        raise RuntimeError("the Dask backfill wrote other rows than the threads")
    if runs["threads"]["days_through"] != days:
        raise RuntimeError(f"{runs['threads']['days_through']} of {days} days went through")
    stages = list(runs["threads"]["stage_seconds"])
    begin, end = markers
    rows = [
        begin,
        f"## Scaling out over a year: threads against a local Dask cluster through the "
        f"{YEAR_THROUGH} gate",
        "",
        f"Command: `make bench` (`python -m bench.run --only scaleyear`), {machine}.",
        "",
        f"A flat synthetic shop ({gen['lines']:,} lines over {days} days, "
        f"{args.lines_per_day:,.0f} a day, generated once in {gen['seconds']:.0f}s and read by "
        f"both runs); `shopcast backfill --through {YEAR_THROUGH}` over every day (the Prefect "
        "flow with its local server), once per task runner, each in its own data directory and "
        "process: ingest, the raw gate, promote, dbt and the features gate, the stages where "
        "the runners differ (on Dask each day's reading, normalising and staging is a task on a "
        "local cluster of 2 worker processes). The model stages, publishing and monitoring run "
        "the same code in the flow's process under either runner: the month above runs them "
        "on both. The raw tables and the marts written are equal (checked, sums of row hashes). "
        "One run each.",
        "",
        *runner_rows(runs, days, stages),
        "",
        same_code_noise(runs, stages),
        end,
    ]
    return "\n".join(rows)


def same_code_noise(runs: dict, stages: list[str]) -> str:
    """How far apart the two runs are on the stages that run the same code under both runners:
    the run-to-run noise that any difference in ingest must be read against (one run each)."""
    t, d = runs["threads"]["stage_seconds"], runs["dask"]["stage_seconds"]
    spread = {s: d[s] / t[s] for s in stages if s != "ingest" and t.get(s) and d.get(s)}
    worst = max(spread, key=lambda s: abs(spread[s] - 1))
    return ("The stages after ingest run the same code in the flow's process under both runners; "
            f"they differ by up to {spread[worst]:.2f}x ({worst}): this machine's run-to-run "
            "noise in one run each, not the runner's doing.")
