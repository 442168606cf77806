"""The published recommendation rows: one per customer and rank, each carrying its customer's
segment, in the contract's schema."""
from datetime import timedelta

import numpy as np
import pyarrow as pa

from models.recommender.baselines import BASELINES, FALLBACK, recommend
from models.recommender.data import history_from_frames
from pipeline.predict import recommendation_table
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
