"""A year of a shop with many slow-moving items (`--only scale`): what each stage costs and what
a year's backfill with the product's settings adds up to.

A synthetic shop of about 20,000 items and 200 lines a day. The stages without models run over
the whole year, as a backfill runs them. A backfill's model cost is its trainings plus its days
of prediction, so those are measured as units and multiplied by how many a year takes: one
training of each model from scratch at day 357 (no earlier model: a chain's first), the model
stages of days 358..364 served by that model (predicted together, as a backfill predicts them),
then day 365, which warm-starts from the day-357 model (`warm_start_fraction` 0.25, the default).
Running the year's 35-40 trainings per model for real takes hours; the projection says what it
assumes.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from models import registry
from models.forecaster.config import ForecasterConfig
from models.recommender.config import RecommenderConfig

START = date(2025, 1, 1)
DAYS = 365
# about 20,000 items, mostly slow movers, and about 200 lines a day (measured in the section)
SHOP = {"seed": 5, "start_date": START.isoformat(), "days": DAYS, "lines_per_day": 140,
        "initial_items": 19000, "item_launches_per_day": 3, "initial_customers": 2000,
        "customer_joins_per_day": 1.1}
MODELS = {"forecast": ("forecaster", ForecasterConfig(), "train_once"),
          "recommend": ("recommender", RecommenderConfig(), "recommend_train_once")}
WARM_FRACTION = "0.25"


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
            history_stages: tuple[str, ...], machine: str, markers: tuple[str, str]) -> str:
    work = args.work / "scale"
    work.mkdir(parents=True, exist_ok=True)
    print("scale: generating the many-items shop", flush=True)
    gen = child({"step": "generate", "shop": SHOP}, work)
    stages = {s: child({"step": s, **window(1, DAYS)}, work) for s in history_stages}
    train_day = START + timedelta(days=DAYS - 9)  # day 357
    measured = {}
    for name, (kind, cfg, train_step) in MODELS.items():
        scratch = child({"step": train_step, "origin": train_day.isoformat()}, work)
        batch = child({"step": name, **window(DAYS - 7, DAYS - 1)}, work)
        variable = f"SHOPCAST_{kind.upper()}__WARM_START_FRACTION"
        os.environ[variable] = WARM_FRACTION
        try:
            # "warm" only tells this step from a cold one in --resume's cache of steps
            warm_day = child({"step": name, **window(DAYS, DAYS), "warm": WARM_FRACTION}, work)
        finally:
            os.environ.pop(variable)
        cards = {c.train_end: c for c in registry.candidates(work / "models", kind)}
        warm_card = cards[START + timedelta(days=DAYS - 1)]
        if not warm_card.warm_started:
            raise RuntimeError(f"the {kind} of day {DAYS} was not warm-started")
        measured[name] = {"cfg": cfg, "scratch_s": cards[train_day].training_seconds,
                          "scratch_step_s": scratch["seconds"], "warm_s": warm_card.training_seconds,
                          "warm_step_s": warm_day["seconds"], "day_s": batch["seconds"] / 7,
                          "peak": max(scratch["peak_rss_mb"], batch["peak_rss_mb"])}
    gate = child({"step": "predictions", **window(DAYS - 7, DAYS - 1)}, work)
    return render(args, gen, stages, measured, gate["seconds"] / 7, machine, markers)


def render(args, gen: dict, stages: dict, measured: dict, gate_day_s: float, machine: str,
           markers: tuple[str, str]) -> str:
    begin, end = markers
    lines_per_day = gen["lines"] / DAYS
    rows = [begin, "## A year of a shop with 20,000 slow-moving items", "",
            f"Command: `make bench` (`python -m bench.run --only scale`), {machine}. "
            f"Synthetic shop: {DAYS} days, {gen['lines']:,} lines ({lines_per_day:,.0f} per day), "
            f"{SHOP['initial_items']:,} items at start and {SHOP['item_launches_per_day']} launches "
            "a day (most items sell a few times a year), "
            f"{SHOP['initial_customers']:,} customers at start. Each step in its own process.", "",
            "### Measured", "",
            "| step | seconds | peak MB |", "|---|---:|---:|"]
    for name, r in stages.items():
        rows.append(f"| {name}, days 1..{DAYS} | {r['seconds']:.1f} | {r['peak_rss_mb']:.0f} |")
    for name, m in measured.items():
        rows += [f"| {name}: one training from scratch (outer loop; whole step) | "
                 f"{m['scratch_s']:.1f} ({m['scratch_step_s']:.1f}) | {m['peak']:.0f} |",
                 f"| {name}: one warm-started training (outer loop; whole step with its day) | "
                 f"{m['warm_s']:.1f} ({m['warm_step_s']:.1f}) | |",
                 f"| {name}: prediction stage per day (7 days in one call, stored) | "
                 f"{m['day_s']:.2f} | |"]
    rows.append(f"| predictions gate per day (7 days in one run) | {gate_day_s:.2f} | |")
    stage_s = sum(r["seconds"] for r in stages.values()) + DAYS * gate_day_s
    rows += ["", f"### Projected year's backfill (days 1..{DAYS})", "",
             "Trainings counted with the registry's rule (train on the first day with "
             "`min_history_days` of history, again when the model's window ends more than "
             "`retrain_every_days` before the day; a warm chain restarts from scratch every "
             "`scratch_every_days`), each costing what the one measured above cost (the outer "
             "loop's cost per step does not depend on the history's length); every day from "
             "`min_history_days` on costs the measured prediction day, the days before it publish "
             "baselines (not counted); the stages without models as measured, plus the "
             "predictions gate's measured day times the year's days.", "",
             "| settings | trainings (scratch + warm) | training s | prediction s | other stages s "
             "| total minutes | training share | under 1 hour |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    defaults = next(iter(measured.values()))["cfg"]
    for label, warm in ((f"product defaults (warm starts at {defaults.warm_start_fraction}, from "
                         f"scratch every {defaults.scratch_every_days} days)", defaults.warm_start_fraction > 0),
                        ("every retrain from scratch (`WARM_START_FRACTION=0`)", False)):
        train_s = predict_s = 0.0
        counts = []
        for m in measured.values():
            cfg = m["cfg"]
            n_scratch, n_warm = trainings_in_a_year(cfg, warm)
            counts.append(f"{n_scratch} + {n_warm}")
            train_s += n_scratch * m["scratch_s"] + n_warm * m["warm_s"]
            predict_s += (DAYS - cfg.min_history_days + 1) * m["day_s"]
        total = stage_s + train_s + predict_s
        rows.append(f"| {label} | {' / '.join(counts)} | {train_s:,.0f} | {predict_s:,.0f} | "
                    f"{stage_s:,.0f} | {total / 60:.0f} | {train_s / total:.0%} | "
                    f"{'yes' if total < 3600 else '**no**'} |")
    rows += ["", "Trainings are given as forecaster / recommender. Target: a year's backfill "
             "with default settings in under 1 hour."]
    return "\n".join(rows + [end])
