"""Backfill a range of run dates through every stage of the pipeline.

Days already complete (or skipped) are left alone unless ``force``; a rerun after a failure
resumes where it stopped. Each range of consecutive days goes through the stages together, so
dbt runs once per range, never once per day; the first failed day stops the days after it.

``through`` stops every day after that stage: ``--through features`` loads, validates and
transforms a range (a new shop's history, reviewed before any model is trained); the days stay
short of complete, so a later backfill without it takes them through every stage.
"""
from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)

from flows import alerts, tasks
from pipeline.context import DayBlocked
from pipeline.definition import (
    STAGES,
    RunOutcome,
    days_between,
    raise_for_stop,
    run_days,
    stages_until,
)
from pipeline.settings import Settings


@flow(name="backfill", task_runner=tasks.task_runner(Settings()))
def backfill(start: date, end: date, force: bool = False, through: str | None = None) -> dict:
    pipeline = stages_until(through) if through else STAGES
    ctx = tasks.run_context()
    logger = get_run_logger()
    progress: dict = {}

    def track(ctx, stage, window, outcome: RunOutcome) -> None:
        if "id" not in progress:
            logger.info("backfill %s..%s: %d day(s) to do", start, end, len(outcome.todo))
            progress["id"] = create_progress_artifact(0.0, description=f"backfill {start}..{end}")
        if stage is pipeline[-1]:  # the window's days went all the way
            through = sum(len(w.days) for w in outcome.windows) + len(window.days)
            logger.info("[%d/%d] days through %s (to %s)", through, len(outcome.todo), stage.name,
                        window.end)
            update_progress_artifact(progress["id"], 100.0 * through / len(outcome.todo))

    try:
        outcome = run_days(ctx, days_between(start, end), force, pipeline=pipeline,
                           call=tasks.prefect_call(ctx.settings),
                           observers=(tasks.gate_artifacts, track, *tasks.LOCAL_OBSERVERS),
                           run=tasks.this_run(f"backfill {start}..{end}"))
    except DayBlocked as exc:
        alerts.alert_blocked(ctx, exc)
        raise
    summary = {"start": start, "end": end, "done": outcome.done, "through": pipeline[-1].name,
               "days_through": [d for w in outcome.windows for d in w.days],
               "failed": outcome.stop.run_date if outcome.stop else None,
               "waiting": outcome.waiting,
               "stage_seconds": {k: round(v, 2) for k, v in outcome.stage_seconds.items()}}
    tasks.review_page_artifact(ctx)
    alerts.alert_run(ctx, outcome)
    if outcome.todo:
        create_markdown_artifact(key="backfill-summary",
                                 markdown=_summary_markdown(summary, outcome))
    raise_for_stop(outcome)
    return summary


def _summary_markdown(summary: dict, outcome: RunOutcome) -> str:
    lines = [f"# Backfill {summary['start']} .. {summary['end']}", "",
             f"- complete: {len(outcome.done)} day(s)"]
    if summary["through"] != STAGES[-1].name:
        lines.append(f"- through {summary['through']} only: {len(summary['days_through'])} day(s)")
    if outcome.stop:
        lines += [f"- stopped at {outcome.stop.run_date} ({outcome.failed_stage}): {outcome.stop.error}",
                  f"- waiting: {len(outcome.waiting)} day(s)"]
    lines += ["", "| stage | seconds |", "|---|---:|",
              *(f"| {name} | {seconds:.1f} |" for name, seconds in outcome.stage_seconds.items())]
    return "\n".join(lines)
