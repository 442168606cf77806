"""One definition of the domain rules, and every consumer sees it: the models and metrics, dbt
(as vars, with no copy in the project) and the predictions gate."""
import re
from datetime import date, timedelta

import duckdb
import pytest
import yaml

from checks.config import PredictionThresholds
from checks.frames import prediction_frames
from domain.paths import REPO_ROOT
from domain.rules import RULES
from models.forecaster import metrics as forecast_metrics
from models.panel import SELLABLE_WINDOW_DAYS
from models.recommender import data as recommend_data
from models.recommender import features as recommend_features
from models.recommender import metrics as recommend_metrics
from models.recommender.config import RecommenderConfig
from sources.config import load_source_config
from warehouse import transform

DBT = REPO_ROOT / "dbt_project"


def test_the_python_code_reads_the_rules():
    assert forecast_metrics.HORIZON == RULES.horizon_days
    assert forecast_metrics.COLD_ITEM_DAYS == RULES.cold_item_days
    assert SELLABLE_WINDOW_DAYS == RULES.sellable_window_days
    assert recommend_metrics.K == RULES.list_length
    assert recommend_metrics.WINDOW_DAYS == RULES.recommendation_window_days
    assert recommend_data.COLD_CUSTOMER_MAX_ORDERS == RULES.cold_customer_max_orders
    assert recommend_features.COLD_ITEM_DAYS == RULES.cold_item_days
    assert RecommenderConfig().window_days == RULES.recommendation_window_days


def test_dbt_gets_every_var_it_reads_from_the_pipeline_and_keeps_no_copy(settings):
    project = yaml.safe_load((DBT / "dbt_project.yml").read_text())
    assert "vars" not in project  # a default here would be a second definition
    read = set()
    for path in [*DBT.rglob("*.sql"), *DBT.rglob("*.yml")]:
        read |= set(re.findall(r"var\(\s*['\"]([a-z_]+)['\"]", path.read_text()))
    cfg = load_source_config(REPO_ROOT / "configs/sources/synthetic.yaml")
    passed = transform.dbt_vars(settings, cfg)
    assert read <= set(passed), f"dbt reads vars nobody passes: {read - set(passed)}"
    for name, value in RULES.dbt_vars().items():
        assert passed[name] == value


def test_quality_thresholds_hold_no_copy_of_the_rules():
    assert not {"horizon_days", "recommendations_per_customer"} & set(PredictionThresholds.model_fields)
    with pytest.raises(ValueError, match="horizon_days"):
        PredictionThresholds(horizon_days=14)  # an old threshold file fails loudly


def test_the_predictions_gate_derives_horizon_and_list_length_from_the_rules():
    """A forecast one day past the horizon and a list one rank past its length are counted as
    rule-breaking rows; the last day and the last rank are not."""
    d = date(2025, 3, 1)
    con = duckdb.connect()
    for ddl in ("CREATE SCHEMA predictions", "CREATE SCHEMA marts", "CREATE SCHEMA staging",
                "CREATE TABLE marts.fct_item_daily_demand (order_date DATE, item_id VARCHAR, "
                "units DOUBLE)",
                "CREATE TABLE staging.stg_catalogue (item_id VARCHAR, launch_date DATE)",
                "CREATE TABLE marts.fct_customer_daily (order_date DATE, customer_id VARCHAR)",
                "CREATE TABLE predictions.forecasts (run_date DATE, item_id VARCHAR, "
                "target_date DATE, mean DOUBLE, p10 DOUBLE, p50 DOUBLE, p90 DOUBLE, "
                "model_version VARCHAR)",
                "CREATE TABLE predictions.recommendations (run_date DATE, customer_id VARCHAR, "
                "rank INTEGER, item_id VARCHAR, score DOUBLE, model_version VARCHAR, "
                "segment VARCHAR)"):
        con.execute(ddl)
    con.execute("INSERT INTO predictions.forecasts SELECT ?, 'a', CAST(? AS DATE) + CAST(i AS INTEGER), 1, 0, 1, 2, 'm' "
                "FROM range(1, ? + 2) t(i)", [d, d, RULES.horizon_days])
    con.execute("INSERT INTO predictions.recommendations SELECT ?, 'c', i, 'i' || i, 1.0, 'm', "
                "'warm' FROM range(1, ? + 2) t(i)", [d, RULES.list_length])
    frames = prediction_frames(con, d, d, PredictionThresholds())
    assert frames["forecasts"]["target_outside_horizon"].tolist() == [1]
    assert frames["recommendations"]["rank_out_of_range"].tolist() == [1]
    con.execute("DELETE FROM predictions.forecasts WHERE target_date > ?",
                [d + timedelta(days=RULES.horizon_days)])
    con.execute("DELETE FROM predictions.recommendations WHERE rank > ?", [RULES.list_length])
    frames = prediction_frames(con, d, d, PredictionThresholds())
    assert frames["forecasts"]["target_outside_horizon"].tolist() == [0]
    assert frames["recommendations"]["rank_out_of_range"].tolist() == [0]
