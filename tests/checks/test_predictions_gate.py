"""The predictions gate: stored forecasts pass when they honour the contract, and each kind of
defect (NaN, negative, crossed quantiles, a missing sellable item, a short horizon) fails the
day with the expectation named."""
from datetime import date

import pytest

from flows import stages
from flows.forecasting import check_forecasts, forecast_days
from tests.conftest import promote_tiny_days, tiny_environment
from warehouse import db

D1, D2 = date(2025, 3, 1), date(2025, 3, 2)
ROWS = {
    D1: ["1,10001,A,2,1.50,2025-03-01T09:00:00Z,7.0,DE", "2,10002,B,1,3.00,2025-03-01T10:00:00Z,,DE"],
    D2: ["3,10001,A,1,1.50,2025-03-02T09:00:00Z,8.0,DE"],
}


@pytest.fixture(scope="module")
def forecast_warehouse(tmp_path_factory):
    with tiny_environment(tmp_path_factory.mktemp("predictions")) as (settings, cfg, landing):
        promote_tiny_days(settings, cfg, landing, ROWS)
        stages.transform_window(settings, cfg, D1, D2)
        yield settings, stages.gate_for(settings, cfg)


@pytest.mark.parametrize("defect, sql, expectation", [
    ("NaN mean", "UPDATE predictions.forecasts SET mean = 'NaN' WHERE item_id = '10001'",
     "expect_column_values_to_not_be_null(mean"),
    ("negative p10", "UPDATE predictions.forecasts SET p10 = -1 WHERE item_id = '10001'",
     "expect_column_values_to_be_between(p10"),
    ("crossed quantiles", "UPDATE predictions.forecasts SET p50 = p90 + 1 WHERE item_id = '10001'",
     "expect_column_pair_values_a_to_be_greater_than_b(p90 >= p50)"),
    ("a sellable item missing", "DELETE FROM predictions.forecasts WHERE item_id = '10002'",
     "sellable_items_missing"),
    ("a short horizon", "DELETE FROM predictions.forecasts WHERE item_id = '10001' "
     "AND target_date = run_date + 28", "items_without_full_horizon"),
])
def test_predictions_gate(forecast_warehouse, defect, sql, expectation):
    settings, gate = forecast_warehouse
    results = forecast_days(settings, [D1, D2])  # (again) healthy forecasts: two days of history
    assert [(r.model_version, r.items) for r in results] == [("baseline-ses-alpha0.1", 2)] * 2
    assert [v.passed for v in check_forecasts(settings, gate, D1, D2)] == [True, True]
    with db.writer(settings) as con:
        con.execute(sql.replace("WHERE", "WHERE run_date = DATE '2025-03-02' AND", 1))
    verdicts = check_forecasts(settings, gate, D1, D2)
    assert [v.passed for v in verdicts] == [True, False], defect
    error = stages.failed_features(verdicts[-1], "predictions")
    assert expectation in str(error) and error.run_date == D2 and "Data Docs" in str(error)
