"""A synthetic shop whose prices jump in one category and whose demand surges in another, run
through every stage (the baselines serve: drift does not need a network) and monitored, shared
by the monitor stage's tests and the review page's browser test."""
from __future__ import annotations

from datetime import timedelta

import pytest

from domain.paths import REPO_ROOT
from pipeline import monitor
from pipeline.context import RunContext
from pipeline.settings import Settings
from sources.config import load_source_config
from sources.synthetic import ShopConfig, generate
from sources.synthetic.config import Regime
from tests.conftest import run_stages

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


@pytest.fixture(scope="package")
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
        monitor.write_review_page(RunContext.build(settings))  # as run_days does after a run
        yield settings


