"""The daily flow: run date D = the business day before the scheduled run (source time zone)."""
from __future__ import annotations

from datetime import date, datetime, timezone

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run

from flows import stages, tasks
from warehouse.reports import day_report_markdown
from warehouse.settings import Settings


def scheduled_run_date(settings: Settings) -> date:
    """D for a scheduled run: the day before its scheduled start, in business time."""
    scheduled = flow_run.scheduled_start_time or datetime.now(timezone.utc)
    return stages.load(settings).default_run_date(scheduled)


@flow(name="daily")
def daily(run_date: date | None = None) -> dict:
    """Ingest, check and transform one run date, then publish its outputs."""
    settings = Settings()
    run_date = run_date or scheduled_run_date(settings)
    logger = get_run_logger()
    logger.info("daily run for %s (source config %s, data in %s)", run_date,
                settings.source_config, settings.root)
    tasks.ensure_writer_limit()
    tasks.check_not_blocked(run_date)
    progress = {"stage": "ingest"}
    try:
        incoming = tasks.stage_day(run_date)
        progress["stage"] = "gate"
        (checked,) = tasks.gate([incoming])
        if not checked["passed"]:
            raise stages.DayFailed(checked["message"])
        progress["stage"] = "ingest"
        tasks.promote([incoming])
        report = tasks.build_and_publish(run_date, run_date, progress)[0]
    except stages.DayNotReady:
        raise  # not a failure of the day: a later run picks it up
    except Exception as exc:
        stages.record_failure(settings, run_date, progress["stage"], exc)
        logger.error("%s failed at %s: %s", run_date, progress["stage"], exc)
        raise
    create_markdown_artifact(
        key="daily-run-summary", markdown=day_report_markdown(report),
        description=f"Run {run_date}: counts; report at {report['report_path']}",
    )
    logger.info("%s complete: %s lines; report %s", run_date, f"{report['lines']:,}",
                report["report_path"])
    return report
