"""A year of a shop with many slow-moving items (`--only scale`): the year's backfill with the
product's settings, every stage for real, and what it would cost with every retrain from scratch.

A synthetic shop of about 20,000 items and 200 lines a day. Days 1..365 go through every stage
of the pipeline in its order, each stage over the whole year as a backfill runs it (one window of
consecutive days; the model stages train point in time and predict the days one model serves
together), each in its own process. The trainings are read back from the model cards. The year
with every retrain from scratch is not run (it takes over an hour): it is this year with its
warm-started trainings replaced by the mean of its own from-scratch trainings, counted with the
registry's rule.
"""
from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import date
from pathlib import Path

from models import registry
from pipeline.settings import Settings

START = date(2025, 1, 1)
DAYS = 365
# about 20,000 items, mostly slow movers, and about 200 lines a day (measured in the section)
SHOP = {"seed": 5, "start_date": START.isoformat(), "days": DAYS, "lines_per_day": 140,
        "initial_items": 19000, "item_launches_per_day": 3, "initial_customers": 2000,
        "customer_joins_per_day": 1.1}
MODELS = {"forecast": "forecaster", "recommend": "recommender"}  # stage -> model kind


def trainings_in_a_year(cfg, warm: bool) -> tuple[int, int]:
    """(from scratch, warm-started) trainings of a backfill of days 1..DAYS under the point-in-
    time rule of models/registry.py: the first day with ``min_history_days`` of history trains,
    and a model serves until its window ends more than ``retrain_every_days`` before the day."""
    scratch = warm_count = 0
    end = chain = None
    for day in range(1, DAYS + 1):
        if day < cfg.min_history_days or (end is not None and day - end <= cfg.retrain_every_days):
            continue
        if warm and chain is not None and day - chain < cfg.scratch_every_days:
            warm_count += 1
        else:
            scratch, chain = scratch + 1, day
        end = day
    return scratch, warm_count


def section(args, child: Callable[[dict, Path], dict], window: Callable[[int, int], dict],
            stage_names: tuple[str, ...], machine: str, markers: tuple[str, str]) -> str:
    work = args.work / "scale"
    work.mkdir(parents=True, exist_ok=True)
    print("scale: generating the many-items shop", flush=True)
    gen = child({"step": "generate", "shop": SHOP}, work)
    print("scale: the year through every stage", flush=True)
    stages = {s: child({"step": s, **window(1, DAYS)}, work) for s in stage_names}
    trainings = {}
    settings = Settings()  # the model settings the children ran with (defaults, or the env's)
    for name, kind in MODELS.items():
        cfg = getattr(settings, kind)
        cards = registry.candidates(work / "models", kind)
        expected = trainings_in_a_year(cfg, cfg.warm_start_fraction > 0)
        found = (sum(not c.warm_started for c in cards), sum(c.warm_started for c in cards))
        if found != expected:  # the projection below counts with this rule
            raise RuntimeError(f"the year trained {found} {kind}s (scratch, warm), the registry's "
                               f"rule counts {expected}")
        trainings[name] = {"cfg": cfg, "scratch": [c.training_seconds for c in cards if not c.warm_started],
                           "warm": [c.training_seconds for c in cards if c.warm_started]}
    return render(gen, stages, trainings, machine, markers)


def render(gen: dict, stages: dict, trainings: dict, machine: str, markers: tuple[str, str]) -> str:
    begin, end = markers
    total = sum(r["seconds"] for r in stages.values())
    training = {name: sum(t["scratch"]) + sum(t["warm"]) for name, t in trainings.items()}
    rows = [begin, "## A year of a shop with 20,000 slow-moving items", "",
            f"Command: `make bench` (`python -m bench.run --only scale`), {machine}. "
            f"Synthetic shop: {DAYS} days, {gen['lines']:,} lines ({gen['lines'] / DAYS:,.0f} per "
            f"day), {SHOP['initial_items']:,} items at start and {SHOP['item_launches_per_day']} "
            "launches a day (most items sell a few times a year), "
            f"{SHOP['initial_customers']:,} customers at start. Days 1..{DAYS} through every stage "
            "with the product's settings, each stage over the whole year as a backfill runs it, in "
            "its own process (without Prefect).", "",
            "### The year's backfill, measured", "",
            "| stage | seconds | of which training (every model trained) | peak MB |", "|---|---:|---:|---:|"]
    for name, r in stages.items():
        trained = f"{training[name]:.0f}" if name in training else ""
        rows.append(f"| {name} | {r['seconds']:.1f} | {trained} | {r['peak_rss_mb']:.0f} |")
    all_training = sum(training.values())
    rows += [f"| **year** | **{total:.0f}** ({total / 60:.0f} minutes) | {all_training:.0f} "
             f"({all_training / total:.0%}) | |", "",
             "| model | trainings from scratch | mean s | warm-started | mean s |", "|---|---:|---:|---:|---:|"]
    for name, t in trainings.items():
        warm_mean = f"{statistics.mean(t['warm']):.1f}" if t["warm"] else "-"
        rows.append(f"| {MODELS[name]} | {len(t['scratch'])} | {statistics.mean(t['scratch']):.1f} "
                    f"| {len(t['warm'])} | {warm_mean} |")
    # every retrain from scratch: this year's stages, with its trainings replaced
    counts = [trainings_in_a_year(t["cfg"], warm=False)[0] for t in trainings.values()]
    scratch_training = sum(n * statistics.mean(t["scratch"]) for n, t in zip(counts, trainings.values()))
    scratch_total = total - all_training + scratch_training
    cfg = next(iter(trainings.values()))["cfg"]
    rows += ["", f"With the defaults (warm starts at {cfg.warm_start_fraction} of the steps, from "
             f"scratch every {cfg.scratch_every_days} days, a retrain every {cfg.retrain_every_days}): "
             f"**{total / 60:.0f} minutes**, training {all_training / total:.0%} of it (target: under "
             f"1 hour: **{'met' if total < 3600 else 'NOT met'}**). With every retrain from scratch "
             f"(`WARM_START_FRACTION=0`: {' / '.join(map(str, counts))} trainings, forecaster / recommender, "
             "each costing the mean of this year's own from-scratch trainings; not run): "
             f"{scratch_total / 60:.0f} minutes, training {scratch_training / scratch_total:.0%}."]
    return "\n".join(rows + [end])
