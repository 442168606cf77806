"""The predictions gate: stored forecasts and recommendations pass when they honour the
contract, and each kind of defect (NaN, negative, crossed quantiles, a missing sellable item, a
short horizon; a customer without a list, a repeated or unsellable item, a short list, a rank
past 20) fails the day with the expectation named."""
import logging
from datetime import date

import pytest

from pipeline.context import RunContext, Window
from pipeline.predict import FORECASTER, RECOMMENDER, predict_days
from pipeline.stages import check_predictions
from tests.conftest import promote_tiny_days, run_stages, tiny_environment
from warehouse import db

pytestmark = pytest.mark.dbt  # runs dbt: not in the fast tier

D1, D2 = date(2025, 3, 1), date(2025, 3, 2)
ROWS = {
    D1: ["1,10001,A,2,1.50,2025-03-01T09:00:00Z,7.0,DE", "2,10002,B,1,3.00,2025-03-01T10:00:00Z,,DE"],
    D2: ["3,10001,A,1,1.50,2025-03-02T09:00:00Z,8.0,DE"],
}


@pytest.fixture(scope="module")
def forecast_warehouse(tmp_path_factory):
    with tiny_environment(tmp_path_factory.mktemp("predictions")) as (settings, cfg, landing):
        promote_tiny_days(settings, landing, ROWS)
        assert run_stages(settings, list(ROWS), only=("transform",)).stop is None
        yield settings, RunContext.build(settings)


@pytest.mark.parametrize("defect, sql, expectation", [
    ("NaN mean", "UPDATE predictions.forecasts SET mean = 'NaN' WHERE item_id = '10001'",
     "forecasts.expect_column_values_to_be_between(mean_missing in [0, 0]): 28 (e.g. 10001)"),
    ("negative p10", "UPDATE predictions.forecasts SET p10 = -1 WHERE item_id = '10001'",
     "p10_out_of_range"),
    ("crossed quantiles", "UPDATE predictions.forecasts SET p50 = p90 + 1 WHERE item_id = '10001'",
     "p50_above_p90"),
    ("a sellable item missing", "DELETE FROM predictions.forecasts WHERE item_id = '10002'",
     "sellable_items_missing"),
    ("a short horizon", "DELETE FROM predictions.forecasts WHERE item_id = '10001' "
     "AND target_date = run_date + 28", "items_without_full_horizon"),
    ("a customer without a list", "DELETE FROM predictions.recommendations WHERE customer_id = '7'",
     "customers_without_list"),
    ("a list for no customer", "UPDATE predictions.recommendations SET customer_id = '9' "
     "WHERE customer_id = '7'", "lists_for_unknown_customers"),
    ("a repeated item", "UPDATE predictions.recommendations SET item_id = '10001' "
     "WHERE customer_id = '7'", "lists_with_repeated_items"),
    ("an item not sellable", "UPDATE predictions.recommendations SET item_id = '99999' "
     "WHERE customer_id = '7' AND rank = 2", "lists_with_items_not_sellable"),
    ("a short list", "DELETE FROM predictions.recommendations WHERE customer_id = '7' AND rank = 2",
     "short_lists"),
    ("NaN score", "UPDATE predictions.recommendations SET score = 'NaN' WHERE customer_id = '8'",
     "score_missing in [0, 0]): 2 (e.g. 8)"),
    ("rank past 20", "UPDATE predictions.recommendations SET rank = 21 WHERE customer_id = '8' "
     "AND rank = 2", "rank_out_of_range"),
    ("a repeated rank", "UPDATE predictions.recommendations SET rank = 1 WHERE customer_id = '8' "
     "AND rank = 2", "repeated_customer_ranks"),
    ("a repeated forecast day", "UPDATE predictions.forecasts SET target_date = target_date - 1 "
     "WHERE item_id = '10001' AND target_date = run_date + 2", "repeated_item_targets"),
])
def test_predictions_gate(forecast_warehouse, defect, sql, expectation):
    settings, ctx = forecast_warehouse
    # (again) healthy predictions: two days of history, two items; customer 7 orders on D1,
    # customer 8 on D2 (the second line of D1 has no customer)
    results = predict_days(settings, FORECASTER, [D1, D2])
    assert [(r.model_version, r.entities) for r in results] == [("baseline-ses-alpha0.1", 2)] * 2
    lists = predict_days(settings, RECOMMENDER, [D1, D2])
    assert [(r.model_version, r.entities) for r in lists] == [
        ("baseline-recency-reorders", 1), ("baseline-recency-reorders", 2)]
    window = Window((D1, D2))
    assert check_predictions(ctx, window) == window
    with db.writer(settings) as con:
        con.execute(sql.replace("WHERE", "WHERE run_date = DATE '2025-03-02' AND", 1))
    stopped = check_predictions(ctx, window)
    assert stopped.days == (D1,) and stopped.stop.run_date == D2, defect
    error = stopped.stop.error
    assert expectation in str(error) and error.run_date == D2 and "Data Docs" in str(error)


def test_data_docs_render_for_a_range_of_run_dates(forecast_warehouse, caplog):
    settings, ctx = forecast_warehouse
    predict_days(settings, FORECASTER, [D1, D2])
    predict_days(settings, RECOMMENDER, [D1, D2])
    with caplog.at_level(logging.ERROR, logger="great_expectations"):
        assert check_predictions(ctx, Window((D1, D2))).stop is None
    assert not [r for r in caplog.records if r.name.startswith("great_expectations")]
    pages = list((settings.root / "quality" / "data_docs" / "validations" / "recommendations_day")
                 .rglob("*.html"))
    assert any("2025-03-01_to_2025-03-02" in str(p) for p in pages)
