"""The daily flow: run date D = the business day before the scheduled run (source time zone).

Days it finds missed before D (a server down over a scheduled run, a run killed midway) run
first, in order, up to ``catch_up_max_days``; more wait for a backfill."""
from __future__ import annotations

from datetime import date, datetime, timezone

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from flows import alerts, tasks
from pipeline.context import DayBlocked, RunContext
from pipeline.definition import raise_for_stop, run_days
from pipeline.settings import Settings
from warehouse.reports import day_report_markdown

NOT_READY_RETRIES = 12  # every 30 minutes: a late export is waited for six hours


def scheduled_run_date(ctx: RunContext) -> date:
    """D for a scheduled run: the day before its scheduled start, in business time."""
    scheduled = flow_run.scheduled_start_time or datetime.now(timezone.utc)
    return ctx.source.default_run_date(scheduled)


@flow(name="daily", task_runner=tasks.task_runner(Settings()))
def daily(run_date: date | None = None, force: bool = False) -> dict:
    """Every stage of the pipeline for one run date, then its report as an artifact. A run date
    already complete reruns only when its inputs changed (pipeline/inputs.py), or ``force``."""
    ctx = tasks.run_context()
    run_date = run_date or scheduled_run_date(ctx)
    logger = get_run_logger()
    logger.info("daily run for %s (source config %s, data in %s)", run_date,
                ctx.settings.source_config, ctx.settings.root)
    try:
        outcome = run_days(ctx, [run_date], force=force, catch_up=ctx.settings.catch_up_max_days,
                           call=tasks.prefect_call(ctx.settings, not_ready_retries=NOT_READY_RETRIES),
                           observers=(tasks.gate_artifacts, *tasks.LOCAL_OBSERVERS),
                           run=tasks.this_run(f"daily {run_date}"))
    except DayBlocked as exc:
        alerts.alert_blocked(ctx, exc)
        raise
    tasks.review_page_artifact(ctx)
    alerts.alert_run(ctx, outcome)
    raise_for_stop(outcome)
    if run_date not in outcome.done:
        logger.info("%s is complete and its inputs are unchanged: nothing to do (force=True "
                    "recomputes it)", run_date)
        return {"run_date": run_date.isoformat(), "unchanged": True,
                "report_path": str(ctx.settings.day_reports_dir(run_date) / "summary.md")}
    report = outcome.reports[-1]  # run_date's, after any missed days
    create_markdown_artifact(
        key="daily-run-summary", markdown=day_report_markdown(report),
        description=f"Run {run_date}: counts; report at {report['report_path']}",
    )
    logger.info("%s complete: %s lines; report %s", run_date, f"{report['lines']:,}",
                report["report_path"])
    return report
