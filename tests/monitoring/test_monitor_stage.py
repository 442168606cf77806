"""The monitor stage on a synthetic shop whose prices jump in one category and whose demand
surges in another: the week before is quiet, the drift verdicts flag the moved columns within
three run dates, and nothing in the reports names a customer."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from domain.paths import REPO_ROOT
from pipeline.settings import Settings
from sources.config import load_source_config
from sources.synthetic import ShopConfig, generate
from sources.synthetic.config import Regime
from tests.conftest import run_stages
from warehouse import db, ledger

pytestmark = [pytest.mark.slow, pytest.mark.dbt]
CHANGE = 90  # the first day (index) of the new regime: its reference window is days 35..62
# (verdicts begin at day 83, when the reference window has left the first 28 days)
# enough item-days for a verdict every day (min_rows: 200 on each side)
BASE = ShopConfig(seed=8, days=CHANGE + 4, lines_per_day=1500, initial_items=400,
                  initial_customers=600, customer_joins_per_day=4, item_launches_per_day=0.5)
SHOP = BASE.model_copy(update={"regimes": [
    Regime(kind="price_shock", start=BASE.start_date + timedelta(days=CHANGE), category="Home/Lighting",
           factor=1.6),
    Regime(kind="category_surge", start=BASE.start_date + timedelta(days=CHANGE), category="Garden",
           factor=4.0)]})
DAY = [SHOP.start_date + timedelta(days=i) for i in range(SHOP.days)]


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    root = tmp_path_factory.mktemp("monitor")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHOPCAST_DATA_DIR", str(root / "data"))
        mp.setenv("SHOPCAST_SOURCE_CONFIG", str(REPO_ROOT / "configs/sources/synthetic.yaml"))
        for model in ("FORECASTER", "RECOMMENDER"):  # the baselines: drift does not need a network
            mp.setenv(f"SHOPCAST_{model}__MIN_HISTORY_DAYS", "400")
        settings = Settings()
        cfg = load_source_config(settings.source_config)
        generate(SHOP, cfg.landing_path(settings.root), settings.root / "truth")
        before = run_stages(settings, DAY[:CHANGE])
        assert before.stop is None, before.stop
        daily = [run_stages(settings, [d]) for d in DAY[CHANGE:]]  # the daily runs after it
        assert all(o.stop is None for o in daily)
        yield settings


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


def test_each_daily_run_writes_evidentlys_reports_and_links_them(monitored):
    directory = monitored.reports_dir / f"run_date={DAY[-1]}"
    summary = drift_of(monitored, DAY[-1])
    assert set(summary["reports"]) >= {"item_days", "active_customers", "raw_lines"}
    for name, page in summary["reports"].items():
        assert (directory / page).stat().st_size > 100_000
        assert (directory / f"drift_{name}.json").exists()
    markdown = (directory / "summary.md").read_text()
    assert "## Drift against" in markdown and "drift_item_days.html" in markdown
    # the backfill's days before its last one get verdicts only (a report is about 4 MB)
    assert not list((monitored.reports_dir / f"run_date={DAY[CHANGE - 2]}").glob("drift_*.html"))
    assert list((monitored.reports_dir / f"run_date={DAY[CHANGE - 1]}").glob("drift_*.html"))


def test_no_report_names_a_customer(monitored):
    with db.reader(monitored) as con:
        customers = {r[0] for r in con.execute(
            "SELECT DISTINCT customer_id FROM marts.fct_customer_daily").fetchall()}
    assert customers
    pattern = re.compile("|".join(re.escape(c) for c in sorted(customers, key=len, reverse=True)))
    pages = [p for p in monitored.reports_dir.rglob("drift*") if p.suffix in (".html", ".json")]
    assert pages
    for page in pages:
        found = pattern.search(page.read_text(errors="replace"))
        assert found is None, f"{page} names customer {found.group(0) if found else ''}"
