"""`make bench`, section monitoring (`python -m bench.run --only monitoring`).

1. What monitoring adds to a daily run at 100k lines a day: days 1..59 backfilled through every
   stage, day 60 run as a daily increment three times (median), the monitor stage's share.
2. False alarms: two quiet synthetic shops (seeds 8 and 11, 1,500 lines a day) through every
   stage for 160 days; the share of the last 90 run dates with a drift alarm.
3. Detection: the same shop with a price shock (x1.6, Home/Lighting) and a demand surge (x4,
   Garden) from day 130: the run dates until each is flagged and the retraining policy asks.
4. Online Retail's 305 days through the same monitoring: the alarm days and what moved.
"""
from __future__ import annotations

import json
import statistics
from datetime import date, timedelta
from pathlib import Path

from domain.paths import REPO_ROOT

QUIET = {"days": 160, "lines_per_day": 1500, "initial_items": 400, "initial_customers": 600,
         "customer_joins_per_day": 4, "item_launches_per_day": 0.5, "start_date": "2025-01-01"}
CHANGE_DAY = 130  # index of the regime's first day
BASELINES_ONLY = {"SHOPCAST_FORECASTER__MIN_HISTORY_DAYS": "400",
                  "SHOPCAST_RECOMMENDER__MIN_HISTORY_DAYS": "400"}


def median_timings(runs: list[dict]) -> dict[str, float]:
    """Each stage's median over repeated daily runs (here and in bench/run.py)."""
    return {k: statistics.median(r["timings"][k] for r in runs) for k in runs[0]["timings"]}


def without_warm_up(work: Path) -> Path:
    """configs/monitoring.yaml with no warm-up: the cost run's reference window lies in its
    first 28 days, where the product gives no verdict (a verdict costs what it costs later)."""
    import yaml

    config = yaml.safe_load((REPO_ROOT / "configs" / "monitoring.yaml").read_text())
    config["defaults"]["drift"]["warmup_days"] = 0
    path = work / "monitoring_without_warm_up.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _verdicts(reports: Path, first: date, last: date) -> dict[date, dict]:
    out, d = {}, first
    while d <= last:
        path = reports / f"run_date={d}" / "drift.json"
        out[d] = json.loads(path.read_text()) if path.exists() else {}
        d += timedelta(days=1)
    return out


def _requests(warehouse: Path) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT run_date, model, reason FROM ops.retrain_decisions "
                           "WHERE requested ORDER BY 1, 2").fetchall()


def section(args, child, window, stage_names, machine: str, marks: tuple[str, str],
            daily, flat_shop, labels: dict) -> str:
    work = args.work / "monitoring"
    lines = [marks[0], "## Monitoring: its cost, its false alarms, what it catches", "",
             f"Command: `make bench` (`python -m bench.run --only monitoring`), {machine}. "
             "Settings: configs/monitoring.yaml (the week ending on D against the 28 days ending "
             "28 days earlier; docs/monitoring.md).", ""]
    lines += _cost(args, child, window, stage_names, work / "cost", daily, flat_shop, labels)
    lines += _alarms(child, window, stage_names, work)
    lines += _online_retail(child, work / "online_retail")
    return "\n".join(lines + [marks[1]])


def _cost(args, child, window, stage_names, work: Path, daily, flat_shop, labels) -> list[str]:
    days = 60
    shop = flat_shop(days, args.lines_per_day)
    work.mkdir(parents=True, exist_ok=True)
    env = {**BASELINES_ONLY, "SHOPCAST_MONITORING_CONFIG": str(without_warm_up(work))}
    print(f"monitoring cost: {days} days x {args.lines_per_day:,.0f} lines", flush=True)
    child({"step": "generate", "shop": shop}, work)
    # one process runs days 1..59 as a backfill does (the ledger and the monitor's per-day
    # samples, which the daily run then finds)
    child({"step": "daily", "repeat": "backfill", **window(1, days - 1)}, work, env)
    runs = daily(work, days, args.repeats, env=env)
    t = median_timings(runs)
    run_s = sum(v for k, v in t.items() if not k.endswith("_setup"))
    monitor = t["monitor"]
    rows = [f"### What monitoring adds to a daily run at {runs[0]['lines']:,} lines", "",
            f"Days 1-{days - 1} of a flat synthetic shop backfilled through every stage (one "
            "backfill run, as users run it), day "
            f"{days} run {len(runs)} times as a daily increment (median, each in its own "
            "process; the baselines serve, as before the models' minimum history).", "",
            "| stage | median s | share of the daily run |", "|---|---:|---:|"]
    rows += [f"| {labels[k]} | {t[k]:.2f} | {t[k] / run_s:.0%} |" for k in stage_names]
    rows += [f"| **daily run, without set-up** | **{run_s:.1f}** | 100% |",
             f"| monitoring set-up once per process (Evidently import) | {t['monitor_setup']:.1f} | "
             f"{t['monitor_setup'] / (run_s + t['monitor_setup']):.0%} of run + set-up |", "",
             f"Monitoring adds **{monitor / (run_s - monitor):.0%}** to the rest of the daily run "
             f"({(monitor + t['monitor_setup']) / (run_s - monitor):.0%} with its set-up); target "
             f"at most 10%: **{'met' if monitor / (run_s - monitor) <= 0.10 else 'NOT met'}**.", ""]
    return rows


def _shop_run(child, window, stage_names, work: Path, seed: int, regimes: list | None = None) -> Path:
    shop = {**QUIET, "seed": seed, **({"regimes": regimes} if regimes else {})}
    work.mkdir(parents=True, exist_ok=True)
    child({"step": "generate", "shop": shop}, work)
    # one process runs the days as a backfill does (ledger, warm-up, reports)
    child({"step": "daily", "repeat": "backfill", **window(1, QUIET["days"])}, work, BASELINES_ONLY)
    return work


def _alarms(child, window, stage_names, work: Path) -> list[str]:
    start = date.fromisoformat(QUIET["start_date"])
    last = start + timedelta(days=QUIET["days"] - 1)
    first = last - timedelta(days=89)
    rows = ["### False alarms on quiet shops", "",
            f"A synthetic shop of {QUIET['lines_per_day']:,} lines a day, {QUIET['days']} days "
            f"through every stage; the last 90 run dates ({first} .. {last}) counted. An alarm day "
            "has a drifted column on the model inputs (`alarm_on`); prediction drift is reported, "
            "not alarmed.", "",
            "| shop | run dates with a drift alarm | alarmed columns | prediction columns drifted "
            "(reported) |", "|---|---:|---|---|"]
    for seed in (8, 11):
        print(f"monitoring: quiet shop, seed {seed}", flush=True)
        folder = _shop_run(child, window, stage_names, work / f"quiet_{seed}", seed)
        verdicts = _verdicts(folder / "reports", first, last)
        alarmed = [d for d, v in verdicts.items() if v.get("alarm")]
        columns = sorted({c for v in verdicts.values() for c in v.get("alarm_columns", [])})
        reported = sorted({c for v in verdicts.values() for c in v.get("drifted_columns", [])
                           if c not in v.get("alarm_columns", [])})
        rows.append(f"| seed {seed} | **{len(alarmed)} of {len(verdicts)} "
                    f"({len(alarmed) / len(verdicts):.0%})** | {', '.join(columns) or '-'} | "
                    f"{', '.join(reported) or '-'} |")
    rows += ["", "Target: at most 5% of run dates with an alarm.", ""]

    change = start + timedelta(days=CHANGE_DAY)
    regimes = [{"kind": "price_shock", "start": change.isoformat(), "category": "Home/Lighting", "factor": 1.6},
               {"kind": "category_surge", "start": change.isoformat(), "category": "Garden", "factor": 4.0}]
    print("monitoring: the shop with a price shock and a surge", flush=True)
    folder = _shop_run(child, window, stage_names, work / "regime", 8, regimes)
    verdicts = _verdicts(folder / "reports", change - timedelta(days=7), last)
    before = [d for d, v in verdicts.items() if d < change and v.get("alarm")]
    first_flag: dict[str, date] = {}
    for d, v in sorted(verdicts.items()):
        for c in v.get("alarm_columns", []):
            first_flag.setdefault(c, d)
    asks = [(d, m, why) for d, m, why in _requests(folder / "warehouse.duckdb") if d >= change]
    rows += ["### A price shock and a demand surge", "",
             f"The seed-8 shop with Home/Lighting prices x1.6 and Garden demand x4 from {change}. "
             f"Alarms in the week before: {len(before)}.", "",
             "| column | first flagged | run dates after the change |", "|---|---|---:|"]
    rows += [f"| {c} | {d} | {(d - change).days + 1} |" for c, d in sorted(first_flag.items(), key=lambda x: x[1])]
    rows += ["", "Retraining asked for: " + ("; ".join(f"{m} on {d} ({(d - change).days + 1} run "
                                                         f"date(s) after the change): {why}"
                                                         for d, m, why in asks) or "never"), ""]
    return rows


def _column_counts(verdicts: dict[date, dict]) -> list[tuple[str, int]]:
    from collections import Counter

    return Counter(c for v in verdicts.values() for c in v.get("alarm_columns", [])).most_common()


def _online_retail(child, work: Path) -> list[str]:
    start, end = date(2010, 12, 1), date(2011, 12, 9)
    work.mkdir(parents=True, exist_ok=True)
    print("monitoring: Online Retail's days through every stage", flush=True)
    child({"step": "daily", "repeat": "backfill", "start": start.isoformat(), "end": end.isoformat(),
           "source": "online_retail"}, work, BASELINES_ONLY)
    verdicts = _verdicts(work / "reports", start, end)
    judged = {d: v for d, v in verdicts.items() if v and any(
        "columns" in ds for ds in v["datasets"].values())}
    alarmed = {d: v for d, v in judged.items() if v.get("alarm")}
    rows = ["### Online Retail", "",
            f"Online Retail's {len([v for v in verdicts.values() if v])} run dates (its 305 trading "
            f"days and the days between) through every stage ({start} .. {end}), the baselines "
            f"serving, with its own thresholds (configs/monitoring.yaml `sources.online_retail`, "
            f"decision 0014); {len(judged)} run dates with a verdict (the first "
            f"{len(verdicts) - len(judged)} calendar days are the warm-up and the reference "
            f"window). Run dates with an alarm: **{len(alarmed)} of {len(judged)}**.", "",
            "| column | run dates alarmed |", "|---|---:|",
            *(f"| {c} | {n} |" for c, n in _column_counts(alarmed)), "",
            "| run date | alarmed columns (score) |", "|---|---|"]
    for d, v in alarmed.items():
        scores = ", ".join(
            f"{c} {v['datasets'][c.partition('.')[0]]['columns'][c.partition('.')[2]]['score']:.2f}"
            for c in v["alarm_columns"])
        rows.append(f"| {d} ({d:%a}) | {scores} |")
    return rows + [""]
