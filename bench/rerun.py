"""Reruns of complete days (`--only rerun`): what a rerun costs when nothing changed.

A month of a flat synthetic shop at the foundation's daily volume goes through every stage once
(the run records what produced each day, pipeline/inputs.py). Then, each in its own process and
repeated: the rerun of its last day and of the whole month with unchanged inputs (both no-ops:
the step fails if any day ran), and the forced rerun of the last day, which recomputes it.
"""
from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

DAYS = 31


def section(args, child: Callable, window: Callable, machine: str, markers: tuple[str, str],
            flat_shop: Callable) -> str:
    work: Path = args.work / "rerun"
    work.mkdir(parents=True, exist_ok=True)
    shop = flat_shop(DAYS, args.lines_per_day, seed=2027)
    print(f"rerun: generating {DAYS} days x {args.lines_per_day:,.0f} lines", flush=True)
    gen = child({"step": "generate", "shop": shop}, work)
    first = child({"step": "run", **window(1, DAYS), "force": True}, work)

    def repeated(first_day: int, force: bool) -> list[dict]:
        runs = [child({"step": "run", **window(first_day, DAYS), "force": force, "repeat": i}, work)
                for i in range(args.repeats)]
        if not force and any(r["ran"] for r in runs):
            raise RuntimeError(f"a rerun of unchanged days {first_day}..{DAYS} ran "
                               f"{max(r['ran'] for r in runs)} day(s)")
        return runs

    day, month, forced = repeated(DAYS, False), repeated(1, False), repeated(DAYS, True)

    def median(runs, key="run_s"):
        return statistics.median(r[key] for r in runs)

    begin, end = markers
    return "\n".join([
        begin,
        "## Reruns of complete days",
        "",
        f"Command: `make bench` (`python -m bench.run --only rerun`), {machine}. A flat synthetic "
        f"shop of {DAYS} days ({gen['lines']:,} lines); the month through every stage once "
        f"({first['run_s']:.0f}s), then each rerun {args.repeats} times, each in its own process "
        "(median of `run_days`; the step also builds the run context). A complete day reruns "
        "only when what produced it changed: its files (SHA-256), the configuration, the code, "
        "the model decisions in force at the day, or an earlier day (pipeline/inputs.py).",
        "",
        "| rerun | days run | median s | step s | peak MB |",
        "|---|---:|---:|---:|---:|",
        f"| the last day, inputs unchanged (no-op) | 0 | {median(day):.2f} | "
        f"{median(day, 'seconds'):.1f} | {max(r['peak_rss_mb'] for r in day):,.0f} |",
        f"| the month, inputs unchanged (no-op) | 0 | {median(month):.2f} | "
        f"{median(month, 'seconds'):.1f} | {max(r['peak_rss_mb'] for r in month):,.0f} |",
        f"| the last day, forced (`--force`) | 1 | {median(forced):.2f} | "
        f"{median(forced, 'seconds'):.1f} | {max(r['peak_rss_mb'] for r in forced):,.0f} |",
        "",
        f"A no-op rerun of a complete day takes {median(day):.2f}s, "
        f"{median(day) / median(forced):.1%} of recomputing it; of a complete month "
        f"{median(month):.2f}s.",
        end,
    ])
