"""The published rows: one per customer and rank, each carrying its customer's segment, in the
contract's schema; forecasts and lists read back from the warehouse as the model made them."""
from datetime import timedelta

import pytest
import torch

import duckdb
import numpy as np
import pyarrow as pa

from models.forecaster.baselines import ses

from models.recommender.baselines import BASELINES, FALLBACK, recommend
from models.recommender.data import history_from_frames
from pipeline.predict import (
    forecast_table,
    meta_trained,
    published_version,
    read_forecast,
    read_recommendations,
    realised_origins,
    recommendation_table,
)
from tests.models.conftest import panel, tiny_config, trained  # noqa: F401 (fixtures)
from tests.models.recommender.conftest import DAYS, START, tiny_shop_frames


def test_recommendation_rows_follow_their_customer():
    lines, orders, daily, catalogue = tiny_shop_frames()
    shop = history_from_frames(lines, orders, daily, catalogue, end=START + timedelta(days=DAYS - 1))
    customers = shop.customers()[::-1]  # not in the history's order
    recs = recommend(shop, BASELINES[FALLBACK], customers, k=5)
    table = recommendation_table(shop, recs, "v1")
    m = len(customers)
    assert table.num_rows == m * 5
    rows = table.to_pandas()
    assert (rows["rank"].to_numpy() == np.tile(np.arange(1, 6), m)).all()
    assert (rows["customer_id"].to_numpy() == np.repeat(shop.purchases.customer_ids[customers], 5)).all()
    assert (rows["segment"].to_numpy() == np.repeat(shop.segments(customers), 5)).all()
    assert set(rows["segment"]) == {"cold", "warm"}
    assert (rows["item_id"].to_numpy() == recs.item_ids.reshape(-1)).all()
    assert set(rows["model_version"]) == {"v1"} and set(rows["run_date"]) == {shop.run_date}
    empty = recommendation_table(shop, recommend(shop, BASELINES[FALLBACK], customers[:0], k=5), "v1")
    assert empty.num_rows == 0 and empty.schema == table.schema
    assert table.schema.field("run_date").type == pa.date32()


def test_published_lists_read_back_as_the_model_made_them():
    lines, orders, daily, catalogue = tiny_shop_frames()
    shop = history_from_frames(lines, orders, daily, catalogue, end=START + timedelta(days=DAYS - 1))
    recs = recommend(shop, BASELINES[FALLBACK], shop.customers(), k=5)
    con = duckdb.connect()
    con.execute("CREATE SCHEMA predictions")
    rows = recommendation_table(shop, recs, "v1")  # noqa: F841 (DuckDB reads it by name)
    con.execute("CREATE TABLE predictions.recommendations AS SELECT * FROM rows")
    back = read_recommendations(con, shop.run_date)
    order = np.argsort(recs.customer_ids)
    assert published_version(con, "predictions.recommendations", shop.run_date) == "v1"
    assert (back.customer_ids == recs.customer_ids[order]).all()
    assert (back.item_ids == recs.item_ids[order]).all() and np.allclose(back.scores, recs.scores[order])
    some = back.customer_ids[1::2]
    only = read_recommendations(con, shop.run_date, some)  # a sample's lists, as scored
    assert list(only.customer_ids) == list(some) and (only.item_ids == back.item_ids[1::2]).all()
    assert read_recommendations(con, shop.run_date + timedelta(days=1)) is None
    assert published_version(con, "predictions.recommendations", shop.run_date + timedelta(days=1)) is None


def test_a_published_forecast_reads_back_as_the_model_made_it(panel):  # noqa: F811
    forecast = ses(panel)
    con = duckdb.connect()
    con.execute("CREATE SCHEMA predictions")
    rows = forecast_table(panel, forecast, "baseline-ses")  # noqa: F841 (read by name)
    con.execute("CREATE TABLE predictions.forecasts AS SELECT * FROM rows")
    back = read_forecast(con, panel.end)
    order = np.argsort(forecast.item_ids.astype(str))
    assert published_version(con, "predictions.forecasts", panel.end) == "baseline-ses"
    assert list(back.item_ids) == list(forecast.item_ids.astype(str)[order])
    assert np.allclose(back.mean, forecast.mean[order])
    assert np.allclose(back.quantiles, forecast.quantiles[order])


def test_a_published_version_loads_what_served_it(tmp_path, panel, trained):  # noqa: F811
    """``<version>`` is the network, ``<version>+pooled`` the pooled network trained with it,
    the baseline's name nothing to load (score_published re-runs what these give)."""
    from dataclasses import replace
    from datetime import date

    from models import registry
    from models.forecaster.predict import forecast
    from models.forecaster.train import meta_train
    from pipeline.predict import FORECASTER, load_served

    history = panel.until(date.fromisoformat(trained.train_end))
    pooled = meta_train(history, trained.config.model_copy(update={"mode": "pooled"}), log=None)
    version = registry.save(replace(trained, pooled=pooled.model), tmp_path / "models").name
    network = load_served(tmp_path / "models", FORECASTER, version)
    served_pooled = load_served(tmp_path / "models", FORECASTER, f"{version}+pooled")
    assert network.version == version and served_pooled.version == f"{version}+pooled"
    np.testing.assert_array_equal(forecast(served_pooled, history).mean, forecast(pooled, history).mean)
    np.testing.assert_array_equal(forecast(network, history).mean, forecast(trained, history).mean)
    assert load_served(tmp_path / "models", FORECASTER, FORECASTER.baseline_version) is None


@pytest.mark.slow
def test_the_training_stage_can_train_across_processes(panel, tiny_config):  # noqa: F811
    from models.forecaster.train import meta_train

    history = panel.until(panel.end - timedelta(days=28))
    cfg = tiny_config.model_copy(update={"outer_steps": 8})
    lines: list[str] = []
    here = meta_trained(meta_train, history, cfg, lines.append, None)
    across = meta_trained(meta_train, history, cfg.model_copy(update={"processes": 2}),
                          lines.append, None)
    assert any("across 2 processes" in line for line in lines)
    assert across.config.processes == 2 and across.train_end == here.train_end
    for name, tensor in here.model.state_dict().items():
        torch.testing.assert_close(across.model.state_dict()[name], tensor, atol=2e-4, rtol=1e-3)


def test_realised_origins_are_the_scored_days_less_the_horizon_within_the_history():
    """What a model stage hands on to realised quality: a daily run its day's origin; a
    backfill every 7th day's and its last day's; none before the history's first day."""
    from datetime import date

    first = date(2025, 1, 1)
    day = date(2025, 3, 1)
    assert realised_origins([day], 7, 30, first) == [day - timedelta(days=30)]
    assert realised_origins([first + timedelta(days=20)], 7, 30, first) == []
    month = [date(2025, 2, 1) + timedelta(days=i) for i in range(28)]
    scored = [d for d in month if d.toordinal() % 7 == 0] + [month[-1]]
    assert realised_origins(month, 7, 28, first) == [d - timedelta(days=28) for d in scored
                                                     if d - timedelta(days=28) >= first]
    assert len(realised_origins(month, 7, 28, first)) == 5  # four weeks and the last day
