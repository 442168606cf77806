"""Evidently's workspace under the data directory: one project per source, one snapshot per run
date (timestamped with the run date, so a backfill fills the history in order), and a dashboard
built once when the project is created. ``shopcast monitor ui`` serves it with ``evidently ui``.

A snapshot is Evidently's report of the day's facts (one row: drifted share, alarmed columns,
lines, quarantined lines, realised quality of the served model and of its baseline), each a
``DayFact`` metric (monitoring/facts.py), the values the dashboard's panels plot over time. The day's full drift
reports stay as HTML beside the day's other reports (a snapshot of each would cost 4 MB a day).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd

from monitoring.drift import drifted_share

FACTS = {  # column: what it is (the dashboard's legends)
    "drifted_share": "share of monitored columns that drifted",
    "alarm_columns": "alarmed input columns",
    "lines": "lines delivered",
    "quarantined": "lines quarantined",
    "forecast_wrmsse": "forecast WRMSSE (published 28 days earlier)",
    "forecast_wrmsse_baseline": "baseline's WRMSSE, same days",
    "recall_cold": "Recall@20 cold (published 30 days earlier)",
    "recall_cold_baseline": "baseline's Recall@20 cold",
    "recall_warm": "Recall@20 warm",
    "recall_warm_baseline": "baseline's Recall@20 warm",
}
FACT_METRIC = "DayFact"  # monitoring/facts.py
PANELS = (  # (title, columns)
    ("Drift: share of monitored columns that drifted", ("drifted_share",)),
    ("Drift: alarmed input columns", ("alarm_columns",)),
    ("Realised forecast WRMSSE against the baseline (lower is better)",
     ("forecast_wrmsse", "forecast_wrmsse_baseline")),
    ("Realised Recall@20 against the baseline (higher is better)",
     ("recall_cold", "recall_cold_baseline", "recall_warm", "recall_warm_baseline")),
    ("Lines per day", ("lines",)),
    ("Quarantined lines per day", ("quarantined",)),
)


def day_facts(report: dict, drift: dict, realised: dict) -> dict[str, float]:
    """The day's facts from what the stages left (NaN where a fact does not exist yet)."""
    share = drifted_share(drift)
    f, r = realised.get("forecasts"), realised.get("recommendations")
    return {
        "drifted_share": math.nan if share is None else share,
        "alarm_columns": float(len(drift.get("alarm_columns", []))),
        "lines": float(report.get("lines", math.nan)),
        "quarantined": float(report.get("quarantined_lines", math.nan)),
        "forecast_wrmsse": f["model"]["all"]["wrmsse"] if f else math.nan,
        "forecast_wrmsse_baseline": f["baseline"]["all"]["wrmsse"] if f else math.nan,
        "recall_cold": r["model"]["cold"]["recall_at_20"] if r else math.nan,
        "recall_cold_baseline": r["baseline"]["cold"]["recall_at_20"] if r else math.nan,
        "recall_warm": r["model"]["warm"]["recall_at_20"] if r else math.nan,
        "recall_warm_baseline": r["baseline"]["warm"]["recall_at_20"] if r else math.nan,
    }


def open_project(path: Path, source: str):
    """(workspace, project) of this source, the project made on first use and its dashboard
    built then, or again when it plots another metric than the facts' (an older workspace)."""
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import line_plot_panel
    from evidently.ui.workspace import Workspace

    workspace = Workspace(str(path))
    found = workspace.search_project(source)
    project = found[0] if found else workspace.create_project(
        source, description=f"shopcast monitoring of {source}")
    if found and dashboard_current(path, project.id):
        return workspace, project
    project.dashboard.clear_dashboard()
    for title, columns in PANELS:
        project.dashboard.add_panel(line_plot_panel(
            title=title, size="half",
            values=[PanelMetric(legend=FACTS[c], metric=FACT_METRIC, metric_labels={"column": c})
                    for c in columns]))
    return workspace, project


def dashboard_current(path: Path, project_id) -> bool:
    """Whether the project's dashboard (Evidently's file of its panels) plots the facts' metric."""
    file = path / str(project_id) / "dashboard.json"
    return file.exists() and f"evidently:metric_v2:{FACT_METRIC}" in file.read_text()


def add_days(path: Path, source: str, facts: dict[date, dict[str, float]]) -> int:
    """One snapshot per run date, in date order; a run date's earlier snapshot is replaced (a
    rerun of the day). Returns the snapshots added.

    Snapshots are written through Evidently's file storage (``LocalState``, what the workspace's
    own ``add_run`` calls), not through ``Workspace``: opening a local ``Workspace`` parses every
    snapshot of every project (0.05 s each: about 18 s a day after a year of daily snapshots, projected). The
    workspace is opened only to create the project and its dashboard, once."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.legacy.core import new_id
    from evidently.ui.storage.local.base import LocalState

    from monitoring.facts import DayFact

    state = LocalState(str(path))
    project_id = project_named(state, source) if path.exists() else None
    if project_id is None or not dashboard_current(path, project_id):
        project_id = open_project(path, source)[1].id
    index = SnapshotIndex.read(state, project_id, path)
    for run_date in facts:
        if (snapshot_id := index.by_day.pop(run_date.isoformat(), None)) is not None:
            state.delete_snapshot(project_id, snapshot_id)
    definition = DataDefinition(numerical_columns=list(FACTS))
    report = Report([DayFact(column=c) for c in FACTS])
    for run_date in sorted(facts):
        row = pd.DataFrame([facts[run_date]], columns=list(FACTS))
        # a fact not there yet is NaN: Evidently's dataset statistics divide by its zero
        # count, numpy's warning is noise in the day's log
        with np.errstate(invalid="ignore", divide="ignore"):
            snapshot = report.run(Dataset.from_pandas(row, data_definition=definition), None,
                                  timestamp=datetime.combine(run_date, time()),
                                  metadata={"run_date": run_date.isoformat(), "source": source},
                                  name=f"{source} {run_date}")
        snapshot_id = new_id()
        state.write_snapshot(project_id, snapshot_id, snapshot.to_snapshot_model())
        index.by_day[run_date.isoformat()] = str(snapshot_id)
    index.write()
    return len(facts)


def project_named(state, source: str):
    """The id of the source's project in the workspace's files, or None."""
    for project_id in state.list_projects():
        if state.read_project(project_id).name == source:
            return project_id
    return None


@dataclass
class SnapshotIndex:
    """Which snapshot holds which run date, kept beside the workspace: Evidently's local
    workspace names snapshots by random ids, and finding a day by reading every snapshot back
    costs 50 ms a snapshot. Rebuilt by that scan when missing or when it names a snapshot the
    workspace no longer lists."""
    file: Path
    by_day: dict[str, str]

    @classmethod
    def read(cls, state, project_id, path: Path) -> "SnapshotIndex":
        file = path / f"run_dates_{project_id}.json"
        listed = {str(s) for s in state.list_snapshots(project_id)}
        if file.exists():
            by_day = json.loads(file.read_text())
            if set(by_day.values()) == listed:
                return cls(file, by_day)
        by_day = {}
        for snapshot_id in sorted(listed):
            run = state.read_snapshot(project_id, snapshot_id)
            if "run_date" in run.metadata:
                by_day[run.metadata["run_date"]] = snapshot_id
        return cls(file, by_day)

    def write(self) -> None:
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(sorted(self.by_day.items())), indent=0))
        tmp.replace(self.file)
