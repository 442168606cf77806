"""The monitor stage: after publishing, each run date's drift against its reference window,
the realised quality of what was published a horizon earlier, and the retraining decision.

Written under ``reports/run_date=D/``: ``drift.json`` (the verdict of every monitored dataset,
every day), ``realised.json`` (the forecasts of D - 28 and the lists of D - 30 scored on what
happened since, beside the same day's baseline) and, for the last run dates of the run
(``reports.html_days``), Evidently's report of each dataset as ``drift_<dataset>.html`` and
``.json``. The day's summary.md gains drift, realised-quality and retraining sections. HTML reports older than ``reports.html_retention_days`` before the newest run date are
removed (about 4 MB each). The retraining policy's decisions (monitoring/retraining.py) go to
``retraining.json`` and the ledger table ``ops.retrain_decisions``; a snapshot of the day's facts
goes to Evidently's workspace; the review page is rebuilt after the run (``write_review_page``).
"""
from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from models.forecaster import evaluate as forecast_evaluate
from models.recommender.metrics import Recommendations
from monitoring import drift, retraining, review, workspace
from pipeline import predict
from pipeline.context import RunContext, Window, log, on_cadence
from pipeline.settings import Settings
from pipeline.stages import write_day_report
from warehouse import db, ledger

REPORT_DATE = re.compile(r"run_date=(\d{4}-\d{2}-\d{2})$")


def monitor_days(ctx: RunContext, window: Window) -> Window:
    cfg, settings = ctx.monitoring, ctx.settings
    with_html = set(window.days[len(window.days) - cfg.reports.html_days:]) if cfg.reports.html_days else set()
    reports = dict(window.reports)
    facts, decisions = {}, {}
    with db.writer(settings) as con, ThreadPoolExecutor(1) as side:
        # the drift samples (DuckDB, which lets go of the GIL) are read beside the realised
        # quality (numpy): each on its own cursor of the one connection
        sampling = side.submit(drift.load_rows, con.cursor(), cfg.drift, list(window.days),
                               fresh=set(window.days))
        first_day = ledger.first_day(con)
        realised = realised_quality(con, list(window.days), cfg.realised.every_days,
                                    cfg.realised.max_customers, window.histories)
        requests = earlier_requests(con, window.start)
        rows = sampling.result()
    scored = earlier_realised(settings, window.start, cfg.retraining.quality_days)
    for run_date in window.days:
        samples = drift.samples_of(rows, cfg.drift, run_date)
        summary = drift.verdict(samples, cfg.drift, run_date, first_day)
        directory = settings.day_reports_dir(run_date)
        directory.mkdir(parents=True, exist_ok=True)
        if run_date in with_html:
            summary["reports"] = write_reports(samples, summary, cfg.drift, run_date, directory,
                                               cfg.reports.html_for)
        (directory / "drift.json").write_text(json.dumps(summary, indent=1))
        if run_date in realised:
            (directory / "realised.json").write_text(json.dumps(realised[run_date], indent=1))
            scored[run_date] = realised[run_date]
        if cfg.retraining.enabled:
            decisions[run_date] = {
                model: retraining.decide(model, run_date, summary, scored, requests.get(model),
                                         cfg.retraining)
                for model in retraining.QUALITY}
            requests.update({m: run_date for m, d in decisions[run_date].items() if d.requested})
            (directory / "retraining.json").write_text(json.dumps(
                {m: d.as_dict() for m, d in decisions[run_date].items()}, indent=1))
        if run_date in reports:
            reports[run_date] = {**reports[run_date], "drift": summary,
                                 "realised": realised.get(run_date),
                                 "retraining": {m: d.as_dict()
                                                for m, d in decisions.get(run_date, {}).items()}}
            write_day_report(settings, reports[run_date])
        if cfg.workspace.enabled and on_cadence(run_date, window.end, cfg.workspace.every_days):
            facts[run_date] = workspace.day_facts(reports.get(run_date, {}), summary,
                                                  realised.get(run_date, {}))
        log.info("%s drift: %s", run_date, ", ".join(summary["drifted_columns"]) or "none")
    if decisions:
        record_decisions(settings, decisions)
    if facts:
        workspace.add_days(settings.evidently_workspace, ctx.source.name, facts)
    remove_old_html(settings, max(window.days), cfg.reports.html_retention_days)
    return window.with_(reports=reports)


def earlier_requests(con, before: date) -> dict[str, date]:
    """Each model's newest retrain request before ``before`` (the cooldown starts there)."""
    return dict(con.execute(
        "SELECT model, max(run_date) FROM ops.retrain_decisions WHERE requested AND run_date < ? "
        "GROUP BY model", [before]).fetchall())


def earlier_realised(settings: Settings, before: date, days: int) -> dict[date, dict]:
    """The realised quality of the last ``days`` scored run dates before ``before``, from their
    reports (a backfill scores every 7th day: up to a quarter's folders are looked at)."""
    out: dict[date, dict] = {}
    for back in range(1, 13 * days + 1):
        day = before - timedelta(days=back)
        path = settings.day_reports_dir(day) / "realised.json"
        if path.exists():
            out[day] = json.loads(path.read_text())
            if len(out) == days:
                break
    return out


def record_decisions(settings: Settings, decisions: dict[date, dict]) -> None:
    """The retraining decisions into the ledger (a rerun of a day replaces its decisions)."""
    rows = [(run_date, d.model, d.requested, d.reason, json.dumps(d.numbers))
            for run_date, by_model in decisions.items() for d in by_model.values()]
    with db.writer(settings) as con:
        con.executemany("INSERT OR REPLACE INTO ops.retrain_decisions VALUES (?, ?, ?, ?, ?)", rows)
    for run_date, model, requested, reason, _ in rows:
        if requested:
            log.info("%s: monitoring asks for a %s retrain in the next run: %s", run_date, model, reason)


def write_review_page(ctx: RunContext) -> Path | None:
    """reports/index.html from what the runs left, after every run (a failed day included);
    a page that cannot be drawn is logged, never the run's failure."""
    if not ctx.settings.warehouse_path.exists():
        return None
    try:
        with db.reader(ctx.settings) as con:
            path = review.write_index(con, ctx.settings.reports_dir, ctx.source.name, ctx.data_docs)
    except Exception:  # noqa: BLE001 - the review page must not hide the run's own outcome
        log.exception("the review page could not be written")
        return None
    log.info("review page: %s", path)
    return path


def realised_quality(con, run_dates: list[date], every_days: int, max_customers: int | None = None,
                     histories: dict | None = None) -> dict[date, dict]:
    """For each chosen run date D, the forecasts published at D - 28 and the lists published at
    D - 30 scored on what happened since, next to the same day's baseline (the project's own
    metric code, models/*/evaluate.py ``realised``). ``histories``: what the model stages of
    the run handed on, by (stage, last day), then by origin (``Predictor.scored_parts``), used
    instead of loading the history again."""
    end = max(run_dates)
    chosen = [d for d in run_dates if on_cadence(d, end, every_days)]
    out: dict[date, dict] = {d: {} for d in chosen}
    for table, predictor, scored in (("forecasts", predict.FORECASTER, realised_forecasts),
                                     ("recommendations", predict.RECOMMENDER, realised_lists)):
        lag = predictor.gate.horizon_days
        versions = {d: predict.published_version(con, predictor.table, d - timedelta(days=lag))
                    for d in chosen}
        if not any(versions.values()):
            continue
        handed_on = (histories or {}).get((predictor.name, end), {})
        whole = None
        for d, version in versions.items():
            if version:
                origin = d - timedelta(days=lag)
                history = handed_on.get(origin)
                if history is None:
                    if whole is None:
                        whole = predictor.load(con, end)  # once for every chosen day
                    history = whole
                out[d][table] = {"origin": origin.isoformat(), "model_version": version,
                                 "baseline_version": predictor.baseline_version,
                                 **scored(con, history, origin, max_customers)}
    return {d: v for d, v in out.items() if v}


def realised_forecasts(con, panel, origin: date, _max_customers=None) -> dict:
    """Every item's published forecast of ``origin`` against the baseline's."""
    return forecast_evaluate.realised(panel, origin, predict.read_forecast(con, origin),
                                      predict.FORECASTER.baseline)


def realised_lists(con, full, origin: date, max_customers: int | None) -> dict:
    """The lists of ``origin`` of a seeded sample of the customers to score (only theirs are
    read) against the fallback baseline's."""
    def published(scoring) -> Recommendations:
        found = predict.read_recommendations(con, origin, scoring.customer_ids)
        # none of the scored customers got a list that day: every one of them scores as a miss
        return found if found is not None else Recommendations(
            np.zeros(0, object), np.zeros((0, 0), object), np.zeros((0, 0)))
    return predict.lists_against_baseline(full, origin, max_customers, published)


def write_reports(samples: dict, summary: dict, settings, run_date: date, directory: Path,
                  html_for: str = "alarmed") -> dict[str, str]:
    """Evidently's report of the datasets with an alarmed column (``html_for="alarmed"``), with
    any drifted column (``"drifted"``) or with a verdict (``"all"``): HTML to read, JSON to load
    back. About 1 s each: a daily run writes the ones a person will open."""
    alarmed = {c.partition(".")[0] for c in summary["alarm_columns"]}
    written = {}
    for name, s in samples.items():
        verdict = summary["datasets"][name]
        if not any("drifted" in c for c in verdict.get("columns", {}).values()):
            continue  # no verdict (warm-up, too few rows) or no column with values on both sides
        if html_for == "alarmed" and name not in alarmed:
            continue
        if html_for == "drifted" and not any(c.get("drifted") for c in verdict["columns"].values()):
            continue
        snapshot = drift.evidently_report(s, settings, run_date)
        snapshot.save_html(str(directory / f"drift_{name}.html"))
        snapshot.save_json(str(directory / f"drift_{name}.json"))
        written[name] = f"drift_{name}.html"
    return written


def remove_old_html(settings: Settings, newest: date, retention_days: int) -> None:
    """Evidently's HTML reports of run dates more than ``retention_days`` before ``newest``
    (their verdicts, drift.json, stay)."""
    if not settings.reports_dir.exists():
        return
    oldest_kept = newest - timedelta(days=retention_days)
    for directory in settings.reports_dir.iterdir():
        match = REPORT_DATE.search(directory.name)
        if match and date.fromisoformat(match.group(1)) < oldest_kept:
            for html in directory.glob("drift_*.html"):
                html.unlink()

