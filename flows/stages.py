"""The stages of a run date as plain functions: no Prefect here, so tests call them directly.

Each stage takes the run date (and paths or settings), does one thing, and returns a small
result. The flows in daily.py and backfill.py decide the order, retries and parallelism.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from checks.config import load_quality_config
from checks.gate import Gate, Verdict
from checks.raw_metrics import DayVolume, measure
from sources.config import Calendar, SourceConfig, load_source_config
from sources.landing import DayBatch, SourceFileError, read_catalogue, read_day
from warehouse import db, ledger, publish, raw, transform
from warehouse.ledger import DayState
from warehouse.settings import Settings


class DayNotReady(RuntimeError):
    """A daily source's file has not arrived yet, and the grace period has not passed."""


class DayFailed(RuntimeError):
    """The day cannot be processed as delivered; the message says which file and why."""


class DayBlocked(RuntimeError):
    """An earlier day is failed or missing, so this day waits (see `shopcast skip`)."""


def load(settings: Settings) -> SourceConfig:
    return load_source_config(settings.source_config)


def days_between(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"backfill end {end} is before start {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# -- 0. may this day run? ----------------------------------------------------------------------
def check_not_blocked(settings: Settings, cfg: SourceConfig, run_date: date) -> None:
    """Raise DayBlocked if an earlier day failed (and is not skipped) or was never processed."""
    with db.writer(settings) as con:
        db.bind_source(con, cfg.name)
        if settings.block_on_failed_days:
            failed = ledger.first_unresolved_failure(con, before=run_date)
            if failed is not None:
                raise DayBlocked(
                    f"{run_date} waits: {failed.run_date} failed at stage {failed.stage}: "
                    f"{failed.message}. Fix the input and rerun {failed.run_date}, or mark it "
                    f"skipped: shopcast skip {failed.run_date} --reason '...'"
                )
        if settings.require_previous_days:
            first = ledger.first_day(con)
            if first is not None and first < run_date:
                gaps = ledger.missing_days(con, first, run_date)
                if gaps:
                    raise DayBlocked(
                        f"{run_date} waits: {len(gaps)} earlier day(s) not complete "
                        f"({gaps[0]} .. {gaps[-1]}); run: shopcast backfill --start {gaps[0]} "
                        f"--end {run_date}"
                    )


# -- 1. stage: source files -> incoming area ---------------------------------------------------
def stage_day(
    settings: Settings, cfg: SourceConfig, run_date: date, now: datetime | None = None
) -> raw.IncomingDay:
    """Read D's files into the incoming area. Nothing in the warehouse changes here."""
    files = cfg.files_for(run_date, settings.root)
    if not files:
        if cfg.calendar == Calendar.daily:
            now = now or datetime.now(timezone.utc)
            deadline = cfg.missing_file_deadline(run_date)
            where = cfg.landing_path(settings.root) / cfg.file_pattern.replace(
                "{date}", run_date.strftime(cfg.date_format))
            if now < deadline:
                raise DayNotReady(f"no file {where} yet; a daily source waits until {deadline}")
            raise DayFailed(f"no file {where} for {run_date}: the {cfg.name} source is daily "
                            f"and its grace period ended at {deadline}")
        batch = _no_trading(run_date)  # trading-days calendar: no file, no trading
    else:
        try:
            batch = read_day(cfg, run_date, files)
        except SourceFileError as exc:
            raise DayFailed(str(exc)) from exc
    try:
        catalogue = read_catalogue(cfg, settings.root)
    except SourceFileError as exc:
        raise DayFailed(str(exc)) from exc
    return raw.stage(batch, catalogue, settings.incoming_dir)


def _no_trading(run_date: date) -> DayBatch:
    from sources.landing import ORDER_LINE_SCHEMA, QUARANTINE_SCHEMA

    return DayBatch(run_date, [], ORDER_LINE_SCHEMA.empty_table(), QUARANTINE_SCHEMA.empty_table())


# -- 2. gate: check staged days before they may replace anything ------------------------------
_gates: dict[tuple, Gate] = {}


def gate_for(settings: Settings, cfg: SourceConfig) -> Gate:
    """One gate (one GX context) per data directory, source and thresholds in this process."""
    quality = load_quality_config(settings.quality_config, cfg.name)
    key = (str(settings.root), quality.model_dump_json())
    if key not in _gates:
        _gates[key] = Gate(settings.root / "quality", quality)
    return _gates[key]


def gate_days(settings: Settings, cfg: SourceConfig, days: list[raw.IncomingDay],
              days_per_validation: int = 31) -> list[tuple[raw.IncomingDay, Verdict]]:
    """Validate staged days in date order, each against the days before it (those already in
    the warehouse and those passed earlier in this batch); stop at the first that fails."""
    gate = gate_for(settings, cfg)
    days = sorted(days, key=lambda d: d.run_date)
    if not days:
        return []
    with db.writer(settings) as con:
        history = [DayVolume(*r) for r in con.execute(
            "SELECT run_date, delivered, no_customer FROM ops.day_volumes WHERE run_date < ? "
            "ORDER BY run_date DESC LIMIT 366", [days[0].run_date]).fetchall()]
        known = {sha: d for sha, d in con.execute(
            "SELECT sha256, run_date FROM ops.ingested_files WHERE NOT list_contains(?, run_date)",
            [[d.run_date for d in days]]).fetchall()}
    measured = []
    for day in days:  # metrics in date order, each day against the ones before it
        shas = [f["sha256"] for f in day.files]
        duplicates = sum(1 for s in shas if s in known) + len(shas) - len(set(shas))
        measured.append((day, measure(day.run_date, day.delivered, day.quarantined,
                                      day.no_customer, duplicates, history, gate.quality.raw)))
        history.append(DayVolume(day.run_date, day.delivered, day.no_customer))
        known.update({s: day.run_date for s in shas})
    results: list[tuple[raw.IncomingDay, Verdict]] = []
    for i in range(0, len(measured), days_per_validation):
        chunk = measured[i:i + days_per_validation]
        verdicts = gate.check_raw(
            [(day.run_date, pq.read_table(day.lines_path).to_pandas(), m) for day, m in chunk],
            build_docs=False)
        for (day, _), verdict in zip(chunk, verdicts):
            results.append((day, verdict))
            if not verdict.passed:
                gate.build_docs()
                return results
    gate.build_docs()
    return results


def failed_gate(day: raw.IncomingDay, verdict: Verdict) -> DayFailed:
    return DayFailed(verdict.message([f["name"] for f in day.files]))


# -- 3. promote: incoming -> raw tables (writer) -----------------------------------------------
def promote_days(settings: Settings, cfg: SourceConfig, days: list[raw.IncomingDay],
                 days_per_transaction: int = 31) -> None:
    """Replace each day in the raw tables, in date order, a month of days per transaction."""
    days = sorted(days, key=lambda d: d.run_date)
    with db.writer(settings) as con:
        db.bind_source(con, cfg.name)
        for i in range(0, len(days), days_per_transaction):
            chunk = days[i:i + days_per_transaction]
            raw.promote(con, chunk)
            for day in chunk:
                ledger.set_state(con, day.run_date, DayState.ingested, "ingest",
                                 lines=day.lines, quarantined=day.quarantined)


# -- 4. transform: dbt build over a window of consecutive days ---------------------------------
def transform_window(settings: Settings, cfg: SourceConfig, start: date, end: date
                     ) -> transform.TransformResult:
    with db.writer_lock(settings):  # dbt opens the file itself; keep other writers out
        result = transform.build(settings, cfg, start, end)
        with db.writer(settings) as con:
            for d in days_between(start, end):
                ledger.set_state(con, d, DayState.transformed, "transform")
    return result


# -- 4b. check the features the window built, before anything is published ------------------
FEATURE_METRICS_SQL = """
WITH days AS (SELECT CAST(d AS DATE) AS run_date
              FROM range(CAST($start AS DATE), CAST($end AS DATE) + 1, INTERVAL 1 DAY) t(d)),
counts AS (SELECT * FROM marts.daily_line_counts WHERE order_date BETWEEN $start AND $end),
facts AS (SELECT order_date, sum(units) AS units, count(*) FILTER (WHERE item_id IS NULL) AS null_keys,
                 count(*) FILTER (WHERE units < 0) AS negative
          FROM marts.fct_item_daily_demand WHERE order_date BETWEEN $start AND $end GROUP BY 1),
pairs AS (SELECT order_date, count(*) FILTER (WHERE customer_id IS NULL OR item_id IS NULL) AS null_keys
          FROM marts.fct_customer_item_daily WHERE order_date BETWEEN $start AND $end GROUP BY 1)
SELECT
    days.run_date,
    (SELECT count(*) FROM counts c WHERE c.order_date = days.run_date) AS day_rows,
    coalesce(counts.lines, 0) - coalesce(v.delivered - v.quarantined, 0) AS lines_minus_raw,
    coalesce(counts.demand_units, 0) - coalesce(facts.units, 0) AS demand_units_minus_facts,
    coalesce(facts.null_keys, 0) + coalesce(pairs.null_keys, 0) AS fact_rows_with_null_keys,
    coalesce(facts.negative, 0) AS fact_rows_with_negative_units,
    CASE WHEN days.run_date = $end THEN (
        SELECT count(*) FROM (
            SELECT item_id FROM marts.fct_item_daily_demand WHERE order_date = $end AND units > 0
            EXCEPT SELECT item_id FROM marts.item_features WHERE as_of_date = $end)) END
        AS items_sold_without_features,
    CASE WHEN days.run_date = $end THEN (
        SELECT count(*) FROM (
            SELECT customer_id FROM marts.fct_customer_daily WHERE order_date = $end
            EXCEPT SELECT customer_id FROM marts.customer_features WHERE as_of_date = $end)) END
        AS customers_without_features
FROM days
LEFT JOIN counts ON counts.order_date = days.run_date
LEFT JOIN ops.day_volumes v ON v.run_date = days.run_date
LEFT JOIN facts ON facts.order_date = days.run_date
LEFT JOIN pairs ON pairs.order_date = days.run_date
ORDER BY days.run_date
"""


def check_features(settings: Settings, cfg: SourceConfig, start: date, end: date) -> list[Verdict]:
    """The features suites for each day of a dbt window (as-of features for its last day);
    stops at the first day that fails."""
    gate = gate_for(settings, cfg)
    with db.reader(settings) as con:
        per_day = con.execute(FEATURE_METRICS_SQL, {"start": start, "end": end}).df()
        items = con.execute(
            "SELECT item_id, category, segment, history_days, units_28d, mean_price_90d "
            "FROM marts.item_features WHERE as_of_date = ?", [end]).df()
        customers = con.execute(
            "SELECT customer_id, segment, frequency, recency_days, tenure_days, monetary "
            "FROM marts.customer_features WHERE as_of_date = ?", [end]).df()
    per_day["run_date"] = per_day["run_date"].dt.date
    for column in per_day.columns.drop("run_date"):  # nullable ints -> floats with NaN
        per_day[column] = pd.to_numeric(per_day[column], errors="coerce").astype("float64")
    verdicts = gate.validate(list(per_day["run_date"]), {
        "features_day": per_day,
        "item_features": items.assign(run_date=end),
        "customer_features": customers.assign(run_date=end),
    })
    failed = next((i for i, v in enumerate(verdicts) if not v.passed), None)
    return verdicts if failed is None else verdicts[:failed + 1]


def failed_features(verdict: Verdict, gate_name: str = "features") -> DayFailed:
    pages = ", ".join(str(p) for p in verdict.docs_pages)
    error = DayFailed(f"{verdict.run_date} failed the {gate_name} gate: {'; '.join(verdict.failures)}. "
                      f"Data Docs: {pages}")
    error.run_date = verdict.run_date
    return error


# -- 5. finish: publish the day's summary, mark it complete ------------------------------------
SUMMARY_COLUMNS = (
    "lines", "demand_lines", "cancellation_lines", "non_product_lines", "zero_price_lines",
    "lines_without_customer", "repeated_lines", "quarantined_lines", "orders", "demand_units",
)


def finish_days(settings: Settings, cfg: SourceConfig, run_dates: list[date]) -> list[dict]:
    """Publish each day's data summary atomically, write its report, and mark it complete."""
    reports = []
    with db.writer(settings) as con:
        for run_date in run_dates:
            reports.append(_finish_day(con, settings, cfg, run_date))
    return reports


def _finish_day(con, settings: Settings, cfg: SourceConfig, run_date: date) -> dict:
    summary = con.execute(
        f"SELECT order_date AS run_date, {', '.join(SUMMARY_COLUMNS)} "
        "FROM marts.daily_line_counts WHERE order_date = ?", [run_date]
    ).to_arrow_table()
    if summary.num_rows != 1:
        raise DayFailed(f"{run_date}: the marts have no row for this day after dbt ran")
    rules = con.execute(
        "SELECT rule, count(*) FROM raw.quarantine WHERE run_date = ? GROUP BY rule ORDER BY rule",
        [run_date],
    ).fetchall()
    items, customers = con.execute(
        "SELECT (SELECT count(*) FROM marts.item_features WHERE as_of_date = ?),"
        " (SELECT count(*) FROM marts.customer_features WHERE as_of_date = ?)",
        [run_date, run_date],
    ).fetchone()
    summary = summary.append_column("source", pa.array([cfg.name]))
    manifests = {"daily_summary": publish.publish_partition(
        settings.published_dir, "daily_summary", run_date, summary,
        retention=settings.publish_retention,
    )}
    predictions = {}
    for table, order in (("forecasts", "item_id, target_date"), ("recommendations", "customer_id, rank")):
        predictions[table] = con.execute(
            f"SELECT * FROM predictions.{table} WHERE run_date = ? ORDER BY {order}",
            [run_date]).to_arrow_table()
        if predictions[table].num_rows:
            versions = sorted(set(predictions[table].column("model_version").to_pylist()))
            manifests[table] = publish.publish_partition(
                settings.published_dir, table, run_date, predictions[table],
                retention=settings.publish_retention, extra={"model_versions": versions})
    publish.update_latest(settings.published_dir, run_date, manifests)
    row = summary.to_pylist()[0]
    ledger.set_state(con, run_date, DayState.complete, "finish",
                     lines=row["lines"], quarantined=row["quarantined_lines"])
    report = {"run_date": run_date.isoformat(), "source": cfg.name,
              **{k: row[k] for k in SUMMARY_COLUMNS}, "quarantine_by_rule": dict(rules),
              "sellable_items_with_features": items, "customers_with_features": customers,
              "forecast_rows": predictions["forecasts"].num_rows,
              "forecast_items": len(set(predictions["forecasts"].column("item_id").to_pylist())),
              "forecast_model": _versions(manifests, "forecasts"),
              "recommendation_rows": predictions["recommendations"].num_rows,
              "recommended_customers": len(set(
                  predictions["recommendations"].column("customer_id").to_pylist())),
              "recommendation_model": _versions(manifests, "recommendations"),
              "data_docs": str(settings.root / "quality" / "data_docs" / "index.html")}
    report["report_path"] = str(write_day_report(settings, report))
    return report


def _versions(manifests: dict, table: str) -> str | None:
    return ", ".join(manifests[table]["model_versions"]) if table in manifests else None


def write_day_report(settings: Settings, report: dict):
    from warehouse.reports import day_report_markdown

    directory = settings.reports_dir / f"run_date={report['run_date']}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "failed.md").unlink(missing_ok=True)  # the day is fixed now
    path = directory / "summary.md"
    path.write_text(day_report_markdown(report))
    return path


def record_failure(settings: Settings, run_date: date, stage: str, exc: BaseException) -> Path:
    """Mark D failed in the ledger and write the reason where the morning review looks."""
    message = f"{type(exc).__name__}: {exc}"
    with db.writer(settings) as con:
        ledger.set_state(con, run_date, DayState.failed, stage, message)
    directory = settings.reports_dir / f"run_date={run_date.isoformat()}"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "failed.md"
    path.write_text(
        f"# Run {run_date} failed at stage {stage}\n\n{message}\n\n"
        "Nothing was published for this day and earlier days are unchanged. Later days wait until "
        f"it is fixed and rerun, or marked skipped: `shopcast skip {run_date} --reason ...`\n"
    )
    return path


def days_with_quarantine(settings: Settings, start: date, end: date) -> list[date]:
    """Run dates in start..end that have quarantined lines: what `shopcast reprocess` redoes."""
    with db.reader(settings) as con:
        return [r[0] for r in con.execute(
            "SELECT DISTINCT run_date FROM raw.quarantine WHERE run_date BETWEEN ? AND ? ORDER BY 1",
            [start, end]).fetchall()]


def mark_skipped(settings: Settings, run_date: date, reason: str) -> None:
    """The operator's decision that later days should stop waiting for ``run_date``."""
    with db.writer(settings) as con:
        ledger.set_state(con, run_date, DayState.skipped, "operator", reason)
