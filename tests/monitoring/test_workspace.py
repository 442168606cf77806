"""The Evidently workspace keeps one snapshot per run date, found through its index."""
from datetime import date, timedelta

from monitoring import workspace

FACTS = {c: 1.0 for c in workspace.FACTS}


def run_dates(path):
    ws, project = workspace.open_project(path, "shop")
    return sorted(ws.get_run(project.id, s).metadata["run_date"] for s in ws.list_runs(project.id))


def test_a_rerun_replaces_its_days_snapshot_and_a_lost_index_is_rebuilt(tmp_path):
    days = [date(2025, 3, 1) + timedelta(days=i) for i in range(3)]
    workspace.add_days(tmp_path, "shop", {d: FACTS for d in days})
    workspace.add_days(tmp_path, "shop", {days[1]: {**FACTS, "lines": 2.0}})
    assert run_dates(tmp_path) == [d.isoformat() for d in days]

    for index in tmp_path.glob("run_dates_*.json"):  # lost, or from another copy of the workspace
        index.unlink()
    workspace.add_days(tmp_path, "shop", {days[2]: FACTS, days[2] + timedelta(days=1): FACTS})
    assert run_dates(tmp_path) == [d.isoformat() for d in [*days, days[2] + timedelta(days=1)]]

    from evidently.ui.storage.local.base import LocalState

    ws, project = workspace.open_project(tmp_path, "shop")
    index = workspace.SnapshotIndex.read(LocalState(str(tmp_path)), project.id, tmp_path)
    assert sorted(index.by_day) == run_dates(tmp_path)
    assert set(index.by_day.values()) == {str(s) for s in ws.list_runs(project.id)}


def test_an_older_dashboard_is_rebuilt_to_plot_the_facts_and_snapshots_stay_small(tmp_path):
    import json

    day = date(2025, 3, 1)
    workspace.add_days(tmp_path, "shop", {day: FACTS})
    (project_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    dashboard = project_dir / "dashboard.json"
    older = dashboard.read_text().replace(f"metric_v2:{workspace.FACT_METRIC}", "metric_v2:MeanValue")
    dashboard.write_text(older)  # as a workspace made before the facts' metric
    workspace.add_days(tmp_path, "shop", {day + timedelta(days=1): FACTS})
    plotted = {v["metric"] for panel in json.loads(dashboard.read_text())["panels"] for v in panel["values"]}
    assert plotted == {f"evidently:metric_v2:{workspace.FACT_METRIC}"}
    assert len(json.loads(dashboard.read_text())["panels"]) == len(workspace.PANELS)
    for snapshot in (project_dir / "snapshots").glob("*.json"):
        assert snapshot.stat().st_size < 40_000  # the values, no chart per fact
