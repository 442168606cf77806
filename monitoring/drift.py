"""Drift of each monitored dataset on a run date against its reference window.

Every run date gets a verdict computed with Evidently's registered drift tests (the functions its
reports call), column by column; the run dates a person will open also get Evidently's HTML
report of the same samples, whose numbers are the verdict's (tested). A report costs about
0.5 s and 4 MB per dataset, the verdict milliseconds: a year's backfill writes verdicts for every
day and reports for its last days only (configs/monitoring.yaml, `reports`)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from monitoring.config import DriftSettings
from monitoring.datasets import (
    MONITORED,
    DayRows,
    MonitoredData,
    current_window,
    reference_window,
    spans,
)


@dataclass(frozen=True)
class Samples:
    data: MonitoredData
    reference: pd.DataFrame
    current: pd.DataFrame

    def testable(self) -> list[str]:
        """The columns with values in both windows: the others cannot be compared."""
        return [c for c in self.data.columns
                if self.reference[c].notna().any() and self.current[c].notna().any()]


def load_rows(con, settings: DriftSettings, run_dates: list[date],
              fresh: set[date] | None = None) -> dict[str, DayRows]:
    """Each configured dataset's rows of the days the run dates' windows need, read once; with
    ``fresh`` (the run's own days), through the warehouse's per-day samples (``DayRows.cached``,
    ``con`` writes)."""
    days = spans([w for d in run_dates for w in (
        reference_window(d, settings.reference_days, settings.reference_gap_days),
        current_window(d, settings.current_days))])
    if fresh is None:
        return {name: DayRows.load(con, MONITORED[name], days, settings.per_day)
                for name in settings.datasets}
    return {name: DayRows.cached(con, MONITORED[name], days, settings.per_day, fresh)
            for name in settings.datasets}


def samples_of(rows: dict[str, DayRows], settings: DriftSettings, run_date: date) -> dict[str, Samples]:
    """The run date's reference and current windows of every dataset."""
    reference = reference_window(run_date, settings.reference_days, settings.reference_gap_days)
    current = current_window(run_date, settings.current_days)
    return {name: Samples(r.data, r.between(*reference), r.between(*current)) for name, r in rows.items()}


def verdict(samples: dict[str, Samples], settings: DriftSettings, run_date: date,
            first_day: date | None = None) -> dict:
    """Per dataset and column: the method, its score, the threshold and whether it drifted; a
    dataset drifts when ``drift_share`` of its columns do. No verdict while the reference window
    lies in the warehouse's first ``warmup_days`` (from ``first_day``). JSON-ready."""
    from evidently.legacy.calculations.stattests import get_stattest
    from evidently.legacy.core import ColumnType

    first, last = reference_window(run_date, settings.reference_days, settings.reference_gap_days)
    warming_up = first_day is not None and first < first_day + timedelta(days=settings.warmup_days)
    datasets = {}
    for name, s in samples.items():
        rows = {"reference": len(s.reference), "current": len(s.current)}
        if warming_up:
            datasets[name] = {"rows": rows, "status": f"no verdict: the reference window starts "
                              f"within the first {settings.warmup_days} days of history"}
            continue
        if min(rows.values()) < settings.min_rows:
            datasets[name] = {"rows": rows, "status": f"no verdict: under {settings.min_rows} rows"}
            continue
        columns = {}
        testable = s.testable()
        for column in s.data.columns:
            numerical = column in s.data.numerical
            kind = ColumnType.Numerical if numerical else ColumnType.Categorical
            if column not in testable:
                columns[column] = {"status": "no values"}
                continue
            reference, current = s.reference[column].dropna(), s.current[column].dropna()
            method = settings.method(name, column, numerical)
            threshold = settings.threshold(name, column, numerical)
            result = get_stattest(reference, current, kind, method)(reference, current, kind,
                                                                    threshold)
            columns[column] = {"method": method, "score": float(result.drift_score),
                               "threshold": threshold, "drifted": bool(result.drifted)}
        tested = [c for c in columns.values() if "drifted" in c]
        share = sum(c["drifted"] for c in tested) / len(tested) if tested else 0.0
        datasets[name] = {"rows": rows, "status": "drifted" if share >= settings.drift_share
                          else "stable", "drifted_share": share, "columns": columns}
    drifted = [f"{name}.{column}" for name, d in datasets.items()
               for column, c in d.get("columns", {}).items() if c.get("drifted")]
    current = current_window(run_date, settings.current_days)
    alarm = [c for c in drifted if c.partition(".")[0] in settings.alarm_on]
    return {"run_date": run_date.isoformat(), "reference": [first.isoformat(), last.isoformat()],
            "current": [current[0].isoformat(), current[1].isoformat()],
            "datasets": datasets, "drifted_columns": drifted, "alarm": bool(alarm),
            "alarm_columns": alarm,
            "drifted_datasets": [n for n, d in datasets.items() if d["status"] == "drifted"]}


def drifted_share(summary: dict) -> float | None:
    """The share of the day's tested columns, over every dataset, that drifted (None before a
    verdict): the review page's and the workspace's drift series."""
    tested = [c for d in summary.get("datasets", {}).values() for c in d.get("columns", {}).values()
              if "drifted" in c]
    return sum(c["drifted"] for c in tested) / len(tested) if tested else None


def evidently_report(s: Samples, settings: DriftSettings, run_date: date):
    """Evidently's data drift report of one dataset's samples (the same tests and thresholds
    as the verdict): a snapshot, to save as HTML and JSON."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    # only the columns the verdict tested: Evidently refuses a column empty on one side (the
    # price ratio before any item has 28 days of prices)
    testable = s.testable()
    definition = DataDefinition(numerical_columns=[c for c in s.data.numerical if c in testable],
                                categorical_columns=[c for c in s.data.categorical if c in testable])
    report = Report([DataDriftPreset(
        columns=testable, num_method=settings.num_method,
        cat_method=settings.cat_method, num_threshold=settings.num_threshold,
        cat_threshold=settings.cat_threshold, drift_share=settings.drift_share,
        per_column_threshold={c: settings.threshold(s.data.name, c, c in s.data.numerical)
                              for c in testable},
        per_column_method={c: settings.method(s.data.name, c, c in s.data.numerical)
                           for c in testable})],
        metadata={"dataset": s.data.name, "description": s.data.description,
                  "not tested (no values on one side)":
                      ", ".join(c for c in s.data.columns if c not in testable) or "none"})
    # a column constant on one side (a day without promotions) makes Evidently's correlation
    # widgets divide by a zero deviation: numpy's warning is noise in the day's log, not a fault
    with np.errstate(invalid="ignore", divide="ignore"):
        return report.run(
            current_data=Dataset.from_pandas(s.current, data_definition=definition),
            reference_data=Dataset.from_pandas(s.reference, data_definition=definition),
            name=f"{s.data.name} {run_date.isoformat()}")
