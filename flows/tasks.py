"""Prefect tasks: thin wrappers that call the plain stages with settings read from the environment.

Tasks take and return dates, paths and small dicts, never connections, so they can be retried,
logged and (where safe) run in parallel.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import concurrency

from flows import stages
from warehouse.raw import IncomingDay
from warehouse.settings import Settings

WRITER_LIMIT = "warehouse-writer"  # create it once: prefect gcl create warehouse-writer --limit 1


def ensure_writer_limit() -> None:
    """Create the writer limit (1 slot) on the Prefect server if it does not exist yet."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(WRITER_LIMIT)
        except ObjectNotFound:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=WRITER_LIMIT, limit=1))


@contextmanager
def writer_slot():
    """The Prefect global concurrency slot shared by every flow that writes the warehouse, so
    queued writers show in the UI; the warehouse's file lock keeps writers apart regardless."""
    with concurrency(WRITER_LIMIT, occupy=1, strict=True):
        yield


def _retry_only_when_not_ready(task, task_run, state) -> bool:
    try:
        state.result()
    except stages.DayNotReady:
        return True
    except Exception:
        return False
    return False


@task(name="check-not-blocked", cache_policy=NO_CACHE)
def check_not_blocked(run_date: date) -> None:
    settings = Settings()
    stages.check_not_blocked(settings, stages.load(settings), run_date)


@task(
    name="stage-day",
    cache_policy=NO_CACHE,
    retries=12,
    retry_delay_seconds=1800,
    retry_condition_fn=_retry_only_when_not_ready,
)
def stage_day(run_date: date) -> str:
    """Source files of D -> incoming area; returns the incoming folder."""
    settings = Settings()
    day = stages.stage_day(settings, stages.load(settings), run_date)
    get_run_logger().info(
        "%s staged: %s lines, %s quarantined %s", run_date, f"{day.lines:,}", day.quarantined,
        day.quarantine_counts or "",
    )
    return str(day.directory)


@task(name="stage-days", cache_policy=NO_CACHE)
def stage_days(run_dates: list[date]) -> list[dict]:
    """Stage several days (one task per chunk keeps a year's backfill light on the API)."""
    settings = Settings()
    cfg = stages.load(settings)
    logger = get_run_logger()
    out = []
    for d in run_dates:
        try:
            day = stages.stage_day(settings, cfg, d)
            out.append({"run_date": d, "incoming": str(day.directory), "error": None, "not_ready": False})
            logger.info("%s staged: %s lines, %s quarantined", d, f"{day.lines:,}", day.quarantined)
        except stages.DayNotReady as exc:
            out.append({"run_date": d, "incoming": None, "error": str(exc), "not_ready": True})
        except stages.DayFailed as exc:
            out.append({"run_date": d, "incoming": None, "error": str(exc), "not_ready": False})
            logger.error("%s failed to stage: %s", d, exc)
    return out


@task(name="gate", cache_policy=NO_CACHE)
def gate(incoming_dirs: list[str]) -> list[dict]:
    """Great Expectations on staged days, in date order; stops at the first failed day."""
    settings = Settings()
    cfg = stages.load(settings)
    days = [IncomingDay.load(Path(p)) for p in incoming_dirs]
    logger = get_run_logger()
    out = []
    for day, verdict in stages.gate_days(settings, cfg, days):
        out.append({
            "run_date": day.run_date, "incoming": str(day.directory), "passed": verdict.passed,
            "message": None if verdict.passed else str(stages.failed_gate(day, verdict)),
            "delivered": day.delivered, "quarantined": day.quarantined,
            "quarantine_counts": day.quarantine_counts, "notes": verdict.notes,
            "docs": [str(p) for p in verdict.docs_pages],
        })
        if verdict.passed:
            logger.info("%s passed the gate: %s lines, %s quarantined %s", day.run_date,
                        f"{day.delivered:,}", day.quarantined, day.quarantine_counts or "")
        else:
            logger.error(out[-1]["message"])
    _gate_artifacts(out, settings)
    return out


def _gate_artifacts(results: list[dict], settings: Settings) -> None:
    from prefect.artifacts import create_link_artifact, create_table_artifact

    if not results:
        return
    create_table_artifact(
        key="raw-data-gate",
        table=[{"run_date": str(r["run_date"]), "passed": r["passed"], "delivered": r["delivered"],
                "quarantined": r["quarantined"], "by_rule": str(r["quarantine_counts"]),
                "failures": r["message"] or "", "data_docs": r["docs"][-1]} for r in results],
        description=f"Raw data gate: {sum(r['passed'] for r in results)} of {len(results)} day(s) passed",
    )
    index = settings.root / "quality" / "data_docs" / "index.html"
    create_link_artifact(key="data-docs", link=index.as_uri(), link_text="Data Docs (Great Expectations)")


@task(name="promote", cache_policy=NO_CACHE)
def promote(incoming_dirs: list[str]) -> int:
    """Incoming area -> raw tables, one transaction per day."""
    settings = Settings()
    days = [IncomingDay.load(Path(p)) for p in incoming_dirs]
    with writer_slot():
        stages.promote_days(settings, stages.load(settings), days)
    return len(days)


@task(name="transform", cache_policy=NO_CACHE)
def transform(start: date, end: date) -> dict:
    """dbt build of staging and marts for the consecutive run dates start..end."""
    settings = Settings()
    with writer_slot():
        result = stages.transform_window(settings, stages.load(settings), start, end)
    get_run_logger().info(
        "dbt build %s..%s: %d nodes in %.1fs", start, end, len(result.nodes), result.elapsed_s
    )
    return {"start": start, "end": end, "nodes": len(result.nodes), "seconds": result.elapsed_s}


@task(name="check-features", cache_policy=NO_CACHE)
def check_features(start: date, end: date) -> None:
    """Great Expectations on the marts of start..end; raises on the first day that fails."""
    settings = Settings()
    verdicts = stages.check_features(settings, stages.load(settings), start, end)
    failed = [v for v in verdicts if not v.passed]
    if failed:
        raise stages.failed_features(failed[0])
    get_run_logger().info("features %s..%s passed their checks", start, end)


@task(name="forecast", cache_policy=NO_CACHE)
def forecast(start: date, end: date) -> list[dict]:
    """Forecast every sellable item for each run date of start..end with the point-in-time
    model (meta-trained here when none is fresh enough) and store the rows."""
    from flows.forecasting import forecast_days

    settings = Settings()
    logger = get_run_logger()
    results = forecast_days(settings, stages.days_between(start, end), log=logger.info)
    for r in results:
        logger.info("%s forecast: %s items with %s%s (%.1fs)", r.run_date, f"{r.entities:,}",
                    r.model_version, ", meta-trained now" if r.trained else "", r.seconds)
    return [vars(r) for r in results]


@task(name="recommend", cache_policy=NO_CACHE)
def recommend(start: date, end: date) -> list[dict]:
    """Top-20 sellable items for every customer with an order, for each run date of
    start..end, with the point-in-time model (meta-trained here when none is fresh enough);
    stores the rows."""
    from flows.recommending import recommend_days

    settings = Settings()
    logger = get_run_logger()
    results = recommend_days(settings, stages.days_between(start, end), log=logger.info)
    for r in results:
        logger.info("%s recommendations: %s customers with %s%s (%.1fs)", r.run_date,
                    f"{r.entities:,}", r.model_version, ", meta-trained now" if r.trained else "",
                    r.seconds)
    return [vars(r) for r in results]


@task(name="check-predictions", cache_policy=NO_CACHE)
def check_predictions(start: date, end: date) -> None:
    """Great Expectations on the stored forecasts and recommendations of start..end; raises
    on the first bad day."""
    from flows.predictions_gate import check_predictions as check

    settings = Settings()
    gate = stages.gate_for(settings, stages.load(settings))
    failed = [v for v in check(settings, gate, start, end) if not v.passed]
    if failed:
        raise stages.failed_features(failed[0], "predictions")
    get_run_logger().info("predictions %s..%s passed their checks", start, end)


@task(name="finish-days", cache_policy=NO_CACHE)
def finish_days(start: date, end: date) -> list[dict]:
    """Publish each day's outputs atomically, write its report, mark it complete."""
    settings = Settings()
    cfg = stages.load(settings)
    logger = get_run_logger()
    with writer_slot():
        reports = stages.finish_days(settings, cfg, stages.days_between(start, end))
    for r in reports:
        logger.info("%s complete: %s lines, %s quarantined; report %s", r["run_date"],
                    f"{r['lines']:,}", r["quarantined_lines"], r["report_path"])
    return reports


def build_and_publish(start: date, end: date, progress: dict) -> list[dict]:
    """The stages after promote, for the consecutive run dates start..end, in order: dbt,
    features gate, forecast, recommend, predictions gate, publish. ``progress["stage"]`` names
    the stage
    running, so that a failure is recorded against it. Returns the day reports."""
    steps = {"transform": transform, "features": check_features, "forecast": forecast,
             "recommend": recommend, "predictions": check_predictions, "finish": finish_days}
    result = None
    for stage, step in steps.items():
        progress["stage"] = stage
        result = step(start, end)
    return result

