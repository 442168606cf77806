"""Memory over a month of large days (`--only memory`): does a long run's memory stay flat?

A flat synthetic shop at the gate benchmark's daily volume (1M order lines a day by default);
its 30 days run one at a time in one long-lived process (`run_days` per day, every stage, as a
worker that runs the daily flow again and again, or a backfill day by day). After each day: the
day's peak resident memory (VmHWM, reset before each stage) and what stays resident after it. A leak
shows as a resident size that climbs from day to day; work that grows with the history shows
as climbing peaks. The model stages publish the baselines in a shop's first month.
"""
from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

DAYS = 30
WEEK = 7
FLAT = 1.25  # the last week's median peak at most this times the first week's


def section(args, child: Callable, window: Callable, machine: str, markers: tuple[str, str],
            flat_shop: Callable) -> str:
    work: Path = args.work / "memory"
    work.mkdir(parents=True, exist_ok=True)
    shop = flat_shop(DAYS, args.gate_lines_per_day, seed=2029)
    print(f"memory: generating {DAYS} days x {args.gate_lines_per_day:,.0f} lines", flush=True)
    gen = child({"step": "generate", "shop": shop}, work)
    run = child({"step": "day_by_day", **window(1, DAYS), "per_stage": True}, work)
    days = run["days"]
    stages = list(days[0]["stage_peak_mb"])
    growth = {s: statistics.median(d["stage_peak_mb"][s] for d in days[-WEEK:])
              / statistics.median(d["stage_peak_mb"][s] for d in days[:WEEK]) for s in stages}
    first = statistics.median(d["peak_mb"] for d in days[:WEEK])
    last = statistics.median(d["peak_mb"] for d in days[-WEEK:])
    held_first = statistics.median(d["rss_mb"] for d in days[:WEEK])
    held_last = statistics.median(d["rss_mb"] for d in days[-WEEK:])
    per_day = statistics.linear_regression(range(len(days)), [d["peak_mb"] for d in days]).slope
    begin, end = markers
    rows = [
        begin,
        "## Memory over a month of 1M-line days",
        "",
        f"Command: `make bench` (`python -m bench.run --only memory`), {machine}. A flat "
        f"synthetic shop ({gen['lines']:,} lines over {DAYS} days); the days run one at a time "
        f"in one process (every stage; the models publish their baselines in a shop's first "
        f"month). Per day: its peak resident memory (the largest of its stages' peaks, VmHWM reset before "
        f"each stage), what stays resident after it, and each stage's peak; the month's highest "
        f"peak {max(d['peak_mb'] for d in days):,.0f} MB.",
        "",
        "| day | lines | peak MB | resident after MB | "
        + " | ".join(f"{s} peak MB" for s in stages) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(stages),
    ]
    rows += [f"| {d['day']} | {d['lines']:,} | {d['peak_mb']:,.0f} | {d['rss_mb']:,.0f} | "
             + " | ".join(f"{d['stage_peak_mb'][s]:,.0f}" for s in stages) + " |" for d in days]
    rows += [
        "",
        f"Median peak of the last week / the first week: **{last / first:.2f}x** ({last:,.0f} "
        f"vs {first:,.0f} MB; target at most {FLAT}x: **{'met' if last / first <= FLAT else 'NOT met'}**). "
        f"Resident after a day, last week / first week: {held_last / held_first:.2f}x "
        f"({held_last:,.0f} vs {held_first:,.0f} MB). Per stage, last week / first week: "
        + ", ".join(f"{s} {g:.2f}x" for s, g in sorted(growth.items(), key=lambda x: -x[1])) + ".",
        "",
        f"The peak still grows by {per_day:,.0f} MB a day (least squares over the month) while "
        "what stays resident after a day does not (no leak): the recommend stage loads the "
        "recommender's purchase history (every customer x item x day event up to D, 16 bytes "
        "each: about 12 MB per day of this shop, and DuckDB's sort of it while it loads); the "
        "stages after it hold only the purchases of the customers monitoring scores "
        "(docs/decisions/0021-memory-of-a-long-run.md, 0024-what-a-run-holds-after-the-models.md).",
        end,
    ]
    return "\n".join(rows)
