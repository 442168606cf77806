"""The stages of a window of run dates as plain functions: no Prefect here.

Each stage takes the run context and a window of consecutive run dates and returns the window
for the next stage: the same days, or the days before the first that failed (``stopped_at``).
Their order lives in one place, pipeline/definition.py; the ledger states too.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from checks.frames import feature_frames, prediction_frames
from checks.gate import Verdict
from checks.raw_metrics import DayVolume, measure
from pipeline import inputs
from pipeline.context import DayBlocked, DayFailed, DayNotReady, RunContext, Window, log
from pipeline.settings import Settings
from sources.config import Calendar
from sources.landing import (
    ORDER_LINE_SCHEMA,
    QUARANTINE_SCHEMA,
    DayBatch,
    SourceFileError,
    read_catalogue,
    read_day,
)
from warehouse import db, ledger, publish, raw
from warehouse.ledger import DayState
from warehouse.reports import day_report_markdown

DAYS_PER_BATCH = 31  # a month of days per transaction or validation run: opening either costs
                     # more than a day's rows


# -- before anything: may this day run? --------------------------------------------------------
class OutsideCalendar(ValueError):
    """A run date the source cannot have: before its first file, or not yet begun."""


def check_in_calendar(ctx: RunContext, days: list[date], now: datetime | None = None) -> None:
    """Refuse run dates before the source's first file or after today (business time), before
    anything is recorded: such a day would fail and then block every later one."""
    if not days:
        return
    today = (now or datetime.now(timezone.utc)).astimezone(ctx.source.zone).date()
    if max(days) > today:
        raise OutsideCalendar(f"{max(days)} is in the future for the {ctx.source.name} source "
                              f"(today is {today} in {ctx.source.business_timezone})")
    found = ctx.source.dates_in_landing(ctx.settings.root)
    if not found:
        raise OutsideCalendar(
            f"the {ctx.source.name} source has no file yet in "
            f"{ctx.source.landing_path(ctx.settings.root)} (matching {ctx.source.file_pattern}): "
            "deliver its files there, or point SHOPCAST_SOURCE_CONFIG at your source's mapping "
            "(the synthetic shop's files: shopcast generate)")
    if min(days) < found[0]:
        raise OutsideCalendar(f"{min(days)} is before the {ctx.source.name} source's first file "
                              f"({found[0]}); its history starts there")


def check_not_blocked(ctx: RunContext, run_date: date) -> None:
    """Raise DayBlocked if an earlier day failed (and is not skipped) or was never processed."""
    earlier_days_to_run(ctx, run_date, catch_up=0)


def earlier_days_to_run(ctx: RunContext, run_date: date, catch_up: int) -> list[date]:
    """The earlier days that must run before ``run_date``, in order: the missed ones (never run,
    or interrupted) when there are at most ``catch_up`` of them. Raise DayBlocked if an earlier
    day failed and is not skipped (it needs a fix, not a rerun), or more days are missing."""
    settings = ctx.settings
    with db.writer(settings) as con:
        db.bind_source(con, ctx.source.name)
        if settings.block_on_failed_days:
            failed = ledger.first_unresolved_failure(con, before=run_date)
            if failed is not None:
                raise DayBlocked(
                    f"{run_date} waits: {failed.run_date} failed at stage {failed.stage}: "
                    f"{failed.message}. Fix the input and rerun {failed.run_date}, or mark it "
                    f"skipped: shopcast skip {failed.run_date} --reason '...'"
                )
        if not settings.require_previous_days:
            return []
        first = ledger.first_day(con)
        gaps = ledger.missing_days(con, first, run_date) if first is not None and first < run_date else []
        if gaps and not settings.block_on_failed_days:  # failed days are left behind, not retried
            records = ledger.records(con, gaps[0], gaps[-1])
            gaps = [d for d in gaps if d not in records or records[d].status != "failed"]
    if len(gaps) > catch_up:
        raise DayBlocked(
            f"{run_date} waits: {len(gaps)} earlier day(s) not complete ({gaps[0]} .. "
            f"{gaps[-1]}); run: shopcast backfill --start {gaps[0]} --end {run_date}"
            + (f" (a daily run catches up at most {catch_up})" if catch_up else "")
        )
    return gaps


# -- ingest: source files -> incoming area -----------------------------------------------------
def stage_day(ctx: RunContext, run_date: date, now: datetime | None = None) -> raw.IncomingDay:
    """Read D's files into the incoming area. Nothing in the warehouse changes here."""
    cfg, root = ctx.source, ctx.settings.root
    files = cfg.files_for(run_date, root)
    if not files:
        where = cfg.landing_path(root) / cfg.day_pattern(run_date)
        if cfg.calendar == Calendar.daily:
            now = now or datetime.now(timezone.utc)
            deadline = cfg.missing_file_deadline(run_date)
            if now < deadline:
                raise DayNotReady(f"no file {where} yet; a daily source waits until {deadline}")
            raise DayFailed(f"no file {where} for {run_date}: the {cfg.name} source is daily "
                            f"and its grace period ended at {deadline}")
        # trading-days calendar: no file, no trading
        log.info("%s: no file %s; a trading-days source reads that as a day without sales (a "
                 "file that arrives later is picked up by the next daily run)", run_date, where)
        batch = DayBatch(run_date, [], ORDER_LINE_SCHEMA.empty_table(), QUARANTINE_SCHEMA.empty_table())
    else:
        try:
            batch = read_day(cfg, run_date, files)
        except SourceFileError as exc:
            raise DayFailed(str(exc)) from exc
    try:
        catalogue = read_catalogue(cfg, root)
    except SourceFileError as exc:
        raise DayFailed(str(exc)) from exc
    return raw.stage(batch, catalogue, ctx.settings.incoming_dir)


def stage_day_or_reason(ctx: RunContext, run_date: date) -> raw.IncomingDay | Exception:
    """D staged, or why it cannot be yet (not ready, or failed as delivered); other errors
    (a failed read) raise, and the flows retry them."""
    try:
        return stage_day(ctx, run_date)
    except (DayNotReady, DayFailed) as exc:
        return exc


def ingest(ctx: RunContext, window: Window) -> Window:
    """Every day's files into the incoming area, in parallel (reading touches no shared
    state: the context's threads, or the flow's Dask workers); the window stops at the first
    day that is not ready or cannot be read."""
    incoming = {}
    for run_date, day in zip(window.days,
                             ctx.map(partial(stage_day_or_reason, ctx), window.days)):
        if isinstance(day, Exception):
            return window.with_(incoming=incoming).stopped_at(
                run_date, day, not_ready=isinstance(day, DayNotReady))
        log.info("%s staged: %s lines, %s quarantined %s", run_date, f"{day.lines:,}",
                 day.quarantined, day.quarantine_counts or "")
        incoming[run_date] = day
    return window.with_(incoming=incoming)


def staged_days(ctx: RunContext, window: Window) -> list[raw.IncomingDay]:
    """The window's days in the incoming area: as ingest handed them on, or as an earlier
    process left them there (a stage run on its own, as the benchmark does)."""
    return [window.incoming.get(d) or raw.IncomingDay.load(raw.incoming_dir(ctx.settings.incoming_dir, d))
            for d in window.days]


# -- gate: check staged days before they may replace anything ---------------------------------
def gate_raw(ctx: RunContext, window: Window) -> Window:
    """Validate the staged days in date order, each against the days before it (those already
    in the warehouse and those passed earlier in this window); stop at the first that fails."""
    gate = ctx.gate
    days = staged_days(ctx, window)
    with db.writer(ctx.settings) as con:
        history = [DayVolume(*r) for r in con.execute(
            "SELECT run_date, delivered, no_customer FROM ops.day_volumes WHERE run_date < ? "
            "ORDER BY run_date DESC LIMIT 366", [window.start]).fetchall()]
        known = {sha: d for sha, d in con.execute(
            "SELECT sha256, run_date FROM ops.ingested_files WHERE NOT list_contains(?, run_date)",
            [list(window.days)]).fetchall()}
    measured = []
    for day in days:  # metrics in date order, each day against the ones before it
        shas = [f["sha256"] for f in day.files]
        duplicates = sum(1 for s in shas if s in known) + len(shas) - len(set(shas))
        measured.append((day, measure(day.run_date, day.delivered, day.quarantined,
                                      day.no_customer, duplicates, history, gate.quality.raw)))
        history.append(DayVolume(day.run_date, day.delivered, day.no_customer))
        known.update({s: day.run_date for s in shas})
    verdicts: dict[date, Verdict] = {}
    try:
        for i in range(0, len(measured), DAYS_PER_BATCH):
            chunk = measured[i:i + DAYS_PER_BATCH]
            checked = gate.check_raw(
                [(day.run_date, pq.read_table(day.lines_path).to_pandas(), m) for day, m in chunk],
                build_docs=False)
            for (day, _), verdict in zip(chunk, checked):
                verdicts[day.run_date] = verdict
                if not verdict.passed:
                    return window.with_(verdicts=verdicts).stopped_at(
                        day.run_date, DayFailed(verdict.message([f["name"] for f in day.files]),
                                                day.run_date))
                log.info("%s passed the gate: %s lines, %s quarantined %s", day.run_date,
                         f"{day.delivered:,}", day.quarantined, day.quarantine_counts or "")
    finally:
        gate.build_docs()
    return window.with_(verdicts=verdicts)


# -- promote: incoming -> raw tables (writer) -------------------------------------------------
def promote(ctx: RunContext, window: Window) -> Window:
    """Replace each day in the raw tables, in date order, a month of days per transaction."""
    days = staged_days(ctx, window)
    with db.writer(ctx.settings) as con:
        db.bind_source(con, ctx.source.name)
        for i in range(0, len(days), DAYS_PER_BATCH):
            raw.promote(con, days[i:i + DAYS_PER_BATCH])
    return window.with_(incoming={d.run_date: d for d in days})


# -- transform: dbt build over the window -----------------------------------------------------
def transform_window(ctx: RunContext, window: Window) -> Window:
    with db.writer_lock(ctx.settings):  # dbt opens the file itself; keep other writers out
        result = ctx.dbt.build(window.start, window.end)
    log.info("dbt build %s..%s: %d nodes in %.1fs (%s)", window.start, window.end,
             len(result.nodes), result.elapsed_s, ctx.dbt.last_parse)
    return window


# -- the features and predictions gates: nothing is published past a failed day ---------------
def check_features(ctx: RunContext, window: Window) -> Window:
    """The features suites on the marts the window built (as-of features of its last day)."""
    with db.reader(ctx.settings) as con:
        frames = feature_frames(con, window.start, window.end)
    return _stop_at_first_failure(window, ctx.gate.validate(list(window.days), frames), "features")


def check_predictions(ctx: RunContext, window: Window) -> Window:
    """The predictions suites on the stored forecasts and lists, a month of days per run."""
    verdicts = []
    for i in range(0, len(window.days), DAYS_PER_BATCH):
        days = window.days[i:i + DAYS_PER_BATCH]
        with db.reader(ctx.settings) as con:
            frames = prediction_frames(con, days[0], days[-1], ctx.quality.predictions)
        verdicts += ctx.gate.validate(list(days), frames)
        if not all(v.passed for v in verdicts):
            break
    return _stop_at_first_failure(window, verdicts, "predictions")


def _stop_at_first_failure(window: Window, verdicts: list[Verdict], gate_name: str) -> Window:
    failed = next((v for v in verdicts if not v.passed), None)
    if failed is None:
        log.info("%s..%s passed the %s gate", window.start, window.end, gate_name)
        return window
    return window.stopped_at(failed.run_date, failed_gate(failed, gate_name))


def failed_gate(verdict: Verdict, gate_name: str) -> DayFailed:
    pages = ", ".join(str(p) for p in verdict.docs_pages)
    return DayFailed(f"{verdict.run_date} failed the {gate_name} gate: "
                     f"{'; '.join(verdict.failures)}. Data Docs: {pages}", verdict.run_date)


# -- publish: the day's summary and predictions, atomically, and its report -------------------
SUMMARY_COLUMNS = (
    "lines", "demand_lines", "cancellation_lines", "non_product_lines", "zero_price_lines",
    "lines_without_customer", "repeated_lines", "quarantined_lines", "orders", "demand_units",
)
# (table, what a row is for, the published order)
PUBLISHED_PREDICTIONS = (("forecasts", "item_id", "item_id, target_date"),
                         ("recommendations", "customer_id", "customer_id, rank"))


def publish_days(ctx: RunContext, window: Window) -> Window:
    """Publish each day's data summary and predictions atomically and write its report."""
    reports = {}
    with db.writer(ctx.settings) as con:
        for run_date in window.days:
            reports[run_date] = _publish_day(con, ctx, run_date)
            log.info("%s published: %s lines, %s quarantined; report %s", run_date,
                     f"{reports[run_date]['lines']:,}", reports[run_date]["quarantined_lines"],
                     reports[run_date]["report_path"])
    return window.with_(reports=reports)


def _publish_day(con, ctx: RunContext, run_date: date) -> dict:
    settings = ctx.settings
    summary = con.execute(
        f"SELECT order_date AS run_date, {', '.join(SUMMARY_COLUMNS)} "
        "FROM marts.daily_line_counts WHERE order_date = ?", [run_date]
    ).to_arrow_table()
    if summary.num_rows != 1:
        raise DayFailed(f"{run_date}: the marts have no row for this day after dbt ran", run_date)
    rules = con.execute(
        "SELECT rule, count(*) FROM raw.quarantine WHERE run_date = ? GROUP BY rule ORDER BY rule",
        [run_date],
    ).fetchall()
    items, customers = con.execute(
        "SELECT (SELECT count(*) FROM marts.item_features WHERE as_of_date = ?),"
        " (SELECT count(*) FROM marts.customer_features WHERE as_of_date = ?)",
        [run_date, run_date],
    ).fetchone()
    summary = summary.append_column("source", pa.array([ctx.source.name]))
    tables = {"daily_summary": (summary, {})}
    counts = {}  # table -> (rows, distinct items or customers)
    for table, entity, order in PUBLISHED_PREDICTIONS:
        rows, entities, versions = con.execute(
            f"SELECT count(*), count(DISTINCT {entity}), "
            f"list(DISTINCT model_version ORDER BY model_version) "
            f"FROM predictions.{table} WHERE run_date = ?", [run_date]).fetchone()
        counts[table] = (rows, entities)
        if rows:
            # written by DuckDB straight from the table (a 1M-line shop's day is 4M list rows:
            # no round trip through Arrow in this process)
            tables[table] = (partial(db.copy_to_parquet, con, f"SELECT * FROM predictions.{table} "
                                     f"WHERE run_date = ? ORDER BY {order}", [run_date]),
                             {"model_versions": versions})
    # every table of the day becomes visible in one step (warehouse/publish.py)
    manifests = publish.publish_day(settings.published_dir, run_date, tables,
                                    retention=settings.publish_retention)
    row = summary.to_pylist()[0]
    gate = {model: json.loads(decision) for model, decision in con.execute(
        "SELECT model, arg_max(decision, run_date) FROM ops.model_gate WHERE run_date <= ? "
        "GROUP BY model ORDER BY model", [run_date]).fetchall()}
    report = {"run_date": run_date.isoformat(), "source": ctx.source.name,
              **{k: row[k] for k in SUMMARY_COLUMNS}, "quarantine_by_rule": dict(rules),
              "sellable_items_with_features": items, "customers_with_features": customers,
              "forecast_rows": counts["forecasts"][0], "forecast_items": counts["forecasts"][1],
              "forecast_model": _versions(manifests, "forecasts"),
              "recommendation_rows": counts["recommendations"][0],
              "recommended_customers": counts["recommendations"][1],
              "recommendation_model": _versions(manifests, "recommendations"),
              "model_gate": gate, "data_docs": str(ctx.data_docs)}
    report["report_path"] = str(write_day_report(settings, report))
    return report


def _versions(manifests: dict, table: str) -> str | None:
    return ", ".join(manifests[table]["model_versions"]) if table in manifests else None


def write_day_report(settings: Settings, report: dict) -> Path:
    """summary.md of the day (with its drift section once the monitor stage has run)."""
    directory = settings.day_reports_dir(report["run_date"])
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "failed.md").unlink(missing_ok=True)  # the day is fixed now
    (directory / "day.json").write_text(json.dumps(report, indent=1, default=str))  # the review page's
    path = directory / "summary.md"
    path.write_text(day_report_markdown(report))
    return path


# -- the day ledger, as the runner and the operator write it ----------------------------------
def record_states(ctx: RunContext, window: Window, state: DayState, stage: str) -> None:
    """The days of the window have passed ``stage``: they are now in ``state``."""
    with db.writer(ctx.settings) as con:
        produced = inputs.DayInputs(con, ctx) if state is DayState.complete else None
        for run_date in window.days:
            counts = window.reports.get(run_date) or {}
            day = window.incoming.get(run_date)
            lines = counts.get("lines", day.lines if day else None)
            quarantined = counts.get("quarantined_lines", day.quarantined if day else None)
            ledger.set_state(con, run_date, state, stage, lines=lines, quarantined=quarantined)
            if produced is not None:
                produced.record(run_date, day.files if day else None)


def record_failure(settings: Settings, run_date: date, stage: str, exc: BaseException) -> Path:
    """Mark D failed in the ledger and write the reason where the morning review looks."""
    message = f"{type(exc).__name__}: {exc}"
    try:
        with db.writer(settings) as con:
            ledger.set_state(con, run_date, DayState.failed, stage, message)
    except Exception as again:  # noqa: BLE001 - only a full disk is worth the reserve
        if not (db.disk_full(again) and db.release_reserve(settings)):
            raise
        log.error("%s: the disk holding %s is full; freed the space kept for this to record "
                  "the failure: free space, then run the day again", run_date, settings.root)
        with db.writer(settings) as con:
            ledger.set_state(con, run_date, DayState.failed, stage, message)
    directory = settings.day_reports_dir(run_date)
    path = directory / "failed.md"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"# Run {run_date} failed at stage {stage}\n\n{message}\n\n"
            "Nothing was published for this day and earlier days are unchanged. Later days wait "
            f"until it is fixed and rerun, or marked skipped: `shopcast skip {run_date} --reason ...`\n"
        )
    except OSError as full:
        if not db.disk_full(full):
            raise
        path.unlink(missing_ok=True)  # the ledger has the reason; a cut page would mislead
    return path


def days_with_quarantine(settings: Settings, start: date, end: date) -> list[date]:
    """Run dates in start..end that have quarantined lines: what `shopcast reprocess` redoes."""
    with db.reader(settings) as con:
        return [r[0] for r in con.execute(
            "SELECT DISTINCT run_date FROM raw.quarantine WHERE run_date BETWEEN ? AND ? ORDER BY 1",
            [start, end]).fetchall()]


def mark_skipped(settings: Settings, days: list[date], reason: str) -> list[date]:
    """The operator's decision that later days should stop waiting for ``days`` (failed or
    never run); complete days in the range are left as they are. Returns the days marked."""
    with db.writer(settings) as con:
        done = ledger.records(con, min(days), max(days)) if days else {}
        marked = [d for d in days if d not in done or done[d].status != DayState.complete.value]
        for d in marked:
            ledger.set_state(con, d, DayState.skipped, "operator", reason)
    return marked
