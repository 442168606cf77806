"""Backfill a range of run dates: stage in parallel, then promote, transform and finish in order.

Days already complete (or skipped) are left alone unless ``force``; a rerun after a failure
resumes where it stopped. dbt runs once per range of consecutive days, never once per day.
"""
from __future__ import annotations

from datetime import date, timedelta

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.task_runners import ThreadPoolTaskRunner

from flows import stages, tasks
from warehouse import db, ledger
from warehouse.settings import Settings


def plan_days(settings: Settings, start: date, end: date, force: bool) -> list[date]:
    """The days of start..end still to do: every day when forced, else those not done."""
    days = stages.days_between(start, end)
    if force or not settings.warehouse_path.exists():
        return days
    with db.writer(settings) as con:
        done = {d for d, r in ledger.records(con, start, end).items() if r.status in ledger.DONE_STATES}
    return [d for d in days if d not in done]


def consecutive_windows(days: list[date]) -> list[tuple[date, date]]:
    """[d1, d2, d3, d5] -> [(d1, d3), (d5, d5)]"""
    windows: list[tuple[date, date]] = []
    for d in sorted(days):
        if windows and d == windows[-1][1] + timedelta(days=1):
            windows[-1] = (windows[-1][0], d)
        else:
            windows.append((d, d))
    return windows


def chunked(days: list[date], n_chunks: int) -> list[list[date]]:
    size = max(1, -(-len(days) // n_chunks))
    return [days[i:i + size] for i in range(0, len(days), size)]


@flow(name="backfill", task_runner=ThreadPoolTaskRunner(max_workers=2))
def backfill(start: date, end: date, force: bool = False) -> dict:
    settings = Settings()
    logger = get_run_logger()
    todo = plan_days(settings, start, end, force)
    logger.info("backfill %s..%s: %d day(s) to do, %d already complete", start, end,
                len(todo), len(stages.days_between(start, end)) - len(todo))
    if not todo:
        return {"start": start, "end": end, "done": [], "failed": None, "waiting": []}
    tasks.ensure_writer_limit()
    tasks.check_not_blocked(todo[0])

    # 1. stage every day in parallel: reading files touches no shared state
    staged = [r for chunk in tasks.stage_days.map(chunked(todo, 8)).result() for r in chunk]
    staged.sort(key=lambda r: r["run_date"])

    # 2. a failed day stops the days after it: they wait until it is fixed or skipped
    good, failure = [], None
    for r in staged:
        if r["incoming"] is None:
            failure = r
            break
        good.append(r)
    failed_stage = "ingest"
    if good:  # 2b. the gate, in date order: each day is compared with the days before it
        checked = tasks.gate([r["incoming"] for r in good])
        rejected = next((c for c in checked if not c["passed"]), None)
        if rejected is not None:
            good = [r for r in good if r["run_date"] < rejected["run_date"]]
            failure = {"run_date": rejected["run_date"], "error": rejected["message"], "not_ready": False}
            failed_stage = "gate"
    if failure is not None and not failure["not_ready"]:
        stages.record_failure(settings, failure["run_date"], failed_stage, stages.DayFailed(failure["error"]))
    waiting = [d for d in todo if failure is not None and d > failure["run_date"]]

    progress_id = create_progress_artifact(progress=0.0, description=f"backfill {start}..{end}")
    done: list[date] = []
    if good:
        tasks.promote([r["incoming"] for r in good])
        for window_start, window_end in consecutive_windows([r["run_date"] for r in good]):
            progress = {"stage": "transform"}
            try:
                reports = tasks.build_and_publish(window_start, window_end, progress)
            except Exception as exc:
                # the first day not yet complete carries the failure; later days wait for it
                pending = [d for d in stages.days_between(window_start, window_end) if d not in done]
                stages.record_failure(settings, getattr(exc, "run_date", None) or pending[0],
                                      progress["stage"], exc)
                raise
            done.extend(date.fromisoformat(r["run_date"]) for r in reports)
            logger.info("[%d/%d] days complete (through %s)", len(done), len(todo), window_end)
            update_progress_artifact(progress_id, 100.0 * len(done) / len(todo))
    summary = {"start": start, "end": end, "done": done,
               "failed": failure["run_date"] if failure else None, "waiting": waiting}
    create_markdown_artifact(key="backfill-summary", markdown=_summary_markdown(summary, failure))
    if failure is not None:
        what = "is not ready" if failure["not_ready"] else "failed"
        raise stages.DayFailed(
            f"backfill stopped: {failure['run_date']} {what}: {failure['error']}; "
            f"{len(waiting)} later day(s) wait. Fix and rerun the backfill, or "
            f"`shopcast skip {failure['run_date']} --reason ...`"
        )
    return summary


def _summary_markdown(summary: dict, failure: dict | None) -> str:
    lines = [f"# Backfill {summary['start']} .. {summary['end']}", "",
             f"- complete: {len(summary['done'])} day(s)"]
    if failure:
        lines += [f"- failed: {failure['run_date']}: {failure['error']}",
                  f"- waiting: {len(summary['waiting'])} day(s)"]
    return "\n".join(lines)
