"""One definition of the domain rules, and every consumer sees it: the models and metrics, dbt
(as vars, with no copy in the project) and the predictions gate."""
import re

import great_expectations as gx
import pytest
import yaml

from checks.config import PredictionThresholds, QualityConfig
from checks.gate import Gate
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


def test_the_predictions_gate_derives_horizon_and_list_length_from_the_rules(tmp_path):
    gate = Gate(tmp_path, QualityConfig())
    bounds = {(e.column, e.max_value) for e in [*gate._forecast_expectations(gx),
                                                *gate._recommendation_expectations(gx)]
              if getattr(e, "column", None) in ("days_ahead", "rank")}
    assert bounds == {("days_ahead", RULES.horizon_days), ("rank", RULES.list_length)}
