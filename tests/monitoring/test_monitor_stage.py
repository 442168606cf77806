"""The monitor stage on a synthetic shop whose prices jump in one category and whose demand
surges in another: the week before is quiet, the drift verdicts flag the moved columns within
three run dates, and nothing in the reports names a customer."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import numpy as np
import pytest

from tests.monitoring.conftest import CHANGE, DAY
from warehouse import db, ledger

pytestmark = [pytest.mark.slow, pytest.mark.dbt]


def drift_of(settings, day) -> dict:
    return json.loads((settings.reports_dir / f"run_date={day}" / "drift.json").read_text())


def test_every_run_date_gets_a_verdict_and_completes(monitored):
    with db.reader(monitored) as con:
        states = {d: r.status for d, r in ledger.records(con).items()}
    assert all(states[d] == "complete" for d in DAY)
    for day in (DAY[CHANGE - 1], DAY[-1]):
        summary = drift_of(monitored, day)
        assert summary["reference"] == [str(day - timedelta(days=55)), str(day - timedelta(days=28))]
        assert summary["datasets"]["item_days"]["status"] in ("stable", "drifted")


def test_the_week_before_the_change_is_quiet_and_the_warm_up_has_no_verdict(monitored):
    for day in DAY[CHANGE - 7:CHANGE]:
        summary = drift_of(monitored, day)
        assert summary["alarm_columns"] == [] and not summary["alarm"], (day, summary["alarm_columns"])
        assert summary["datasets"]["item_days"]["status"] == "stable"
    young = drift_of(monitored, DAY[CHANGE - 8])["datasets"]["item_days"]["status"]
    assert young.startswith("no verdict: the reference window starts within the first 28 days")


def test_the_price_shock_and_the_surge_are_flagged_within_three_run_dates(monitored):
    flagged = set()
    for day in DAY[CHANGE:CHANGE + 3]:
        flagged |= set(drift_of(monitored, day)["alarm_columns"])
    assert "item_days.price_ratio" in flagged  # the price shock
    assert "raw_lines.category" in flagged     # the surge: four times the lines of one category


def test_the_change_asks_for_a_retrain_once_and_the_quiet_week_for_none(monitored):
    with db.reader(monitored) as con:
        decisions = con.execute(
            "SELECT run_date, model, requested, reason FROM ops.retrain_decisions ORDER BY 1, 2").fetchall()
    asked = [(d, m, reason) for d, m, requested, reason in decisions if requested]
    assert asked and all(d >= DAY[CHANGE] for d, _, _ in asked)
    first = min(d for d, _, _ in asked)
    assert first <= DAY[CHANGE + 2]  # within three run dates of the change
    assert {m for _, m, _ in asked} == {"forecaster", "recommender"}
    assert all(r.startswith("input drift: ") for _, _, r in asked)  # with the columns and scores
    assert len({m for _, m, _ in asked}) == len(asked)  # the cooldown holds a second request back
    summary = (monitored.reports_dir / f"run_date={first}" / "summary.md").read_text()
    assert "## Retraining" in summary and "yes, in the next run" in summary


def test_each_daily_run_writes_evidentlys_reports_and_links_them(monitored):
    directory = monitored.reports_dir / f"run_date={DAY[-1]}"
    summary = drift_of(monitored, DAY[-1])
    # Evidently's reports of the datasets with a drifted column (html_for: drifted)
    assert set(summary["reports"]) == set(drifted_datasets(summary)) >= {"item_days", "raw_lines"}
    for name, page in summary["reports"].items():
        assert (directory / page).stat().st_size > 100_000
        assert (directory / f"drift_{name}.json").exists()
    markdown = (directory / "summary.md").read_text()
    assert "## Drift against" in markdown and "drift_item_days.html" in markdown
    # the backfill's days before its last one get verdicts only (a report is about 4 MB)
    assert not list((monitored.reports_dir / f"run_date={DAY[CHANGE - 2]}").glob("drift_*.html"))
    last = monitored.reports_dir / f"run_date={DAY[CHANGE - 1]}"
    assert {p.name for p in last.glob("drift_*.html")} == {
        f"drift_{name}.html" for name in drifted_datasets(drift_of(monitored, DAY[CHANGE - 1]))}


def drifted_datasets(summary: dict) -> list[str]:
    return [name for name, d in summary["datasets"].items()
            if any(c.get("drifted") for c in d.get("columns", {}).values())]


def test_the_day_scores_what_was_published_28_and_30_days_earlier_beside_the_baseline(monitored):
    directory = monitored.reports_dir / f"run_date={DAY[-1]}"
    realised = json.loads((directory / "realised.json").read_text())
    assert realised["forecasts"]["origin"] == str(DAY[-1] - timedelta(days=28))
    assert realised["recommendations"]["origin"] == str(DAY[-1] - timedelta(days=30))
    for table in ("forecasts", "recommendations"):  # the baselines served: they score as the baseline
        assert realised[table]["model_version"] == realised[table]["baseline_version"]
        assert realised[table]["model"] == realised[table]["baseline"]
    assert realised["forecasts"]["model"]["all"]["items"] > 100
    assert realised["recommendations"]["model"]["warm"]["customers"] > 50
    assert "## Realised quality" in (directory / "summary.md").read_text()
    # a backfill scores every 7th day (by the calendar) and its last day
    scored = [d for d in DAY[:CHANGE] if (monitored.reports_dir / f"run_date={d}" / "realised.json").exists()]
    assert DAY[CHANGE - 1] in scored and all(d.toordinal() % 7 == 0 for d in scored[:-1])


def test_no_report_names_a_customer(monitored):
    with db.reader(monitored) as con:
        customers = {r[0] for r in con.execute(
            "SELECT DISTINCT customer_id FROM marts.fct_customer_daily").fetchall()}
    assert customers
    pattern = re.compile("|".join(re.escape(c) for c in sorted(customers, key=len, reverse=True)))
    pages = [p for p in monitored.reports_dir.rglob("*") if p.suffix in (".html", ".json", ".md")]
    assert pages
    for page in pages:
        found = pattern.search(page.read_text(errors="replace"))
        assert found is None, f"{page} names customer {found.group(0) if found else ''}"


def test_realised_quality_scores_what_the_model_stages_handed_on_as_the_whole_history(
        monitored, monkeypatch):
    """The model stages hand on, by origin, what realised quality scores there: the
    forecaster's panel, and the recommender's sampled customers with their purchases only (the
    stages after it do not hold the shop's history). Scored from those, the numbers are the
    ones a whole history gives; with more origins than half the customers can sample, the
    whole history is handed on."""
    from dataclasses import replace

    from models.panel import load_panel
    from models.recommender.data import load_history
    from pipeline import monitor, predict

    day = DAY[-1]
    origins = {"forecast": day - timedelta(days=28), "recommend": day - timedelta(days=30)}
    with db.reader(monitored) as con:
        panel, history = load_panel(con, day), load_history(con, day)
        customers = len(history.purchases.customer_ids)
        assert customers > 2 * 40  # a sample of 40 leaves customers out
        by_whole = {n: monitor.realised_quality(con, [day], 1, n) for n in (40, 500)}

        def no_reload(con, end):
            raise AssertionError("realised quality loaded what the model stage had handed on")

        monkeypatch.setattr(predict, "FORECASTER", replace(predict.FORECASTER, load=no_reload))
        monkeypatch.setattr(predict, "RECOMMENDER", replace(predict.RECOMMENDER, load=no_reload))
        for n in (40, 500):
            handed_on = {
                ("forecast", day): predict.FORECASTER.scored_parts(panel, [origins["forecast"]], n),
                ("recommend", day): predict.RECOMMENDER.scored_parts(history, [origins["recommend"]], n)}
            part = handed_on[("recommend", day)][origins["recommend"]]
            if 2 * n <= customers:  # the sample's customers only
                assert len(np.unique(part.purchases.customer)) == n
                assert len(part.purchases.customer) < len(history.purchases.customer)
            else:
                assert part is history
            assert monitor.realised_quality(con, [day], 1, n, handed_on) == by_whole[n]
        with pytest.raises(AssertionError, match="handed on"):  # another last day: loaded
            monitor.realised_quality(con, [day], 1, 40, {("recommend", DAY[-2]): handed_on[("recommend", day)]})
    many = [origins["recommend"] - timedelta(days=7 * k) for k in range(customers // 80 + 1)]
    assert all(part is history for part in predict.scored_samples(history, many, 40).values())
    assert by_whole[40] != by_whole[500]
    assert set(by_whole[40][day]) == {"forecasts", "recommendations"}
