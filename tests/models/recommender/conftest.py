"""A tiny shop with known structure: customers who reorder their favourite items, a few
one-order customers, items launched late, and a catalogue item never sold."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from models.recommender.config import RecommenderConfig
from models.recommender.data import ShopHistory, history_from_frames

START = date(2024, 1, 1)
DAYS = 150


def tiny_shop_frames(customers: int = 40, items: int = 50, days: int = DAYS, seed: int = 0):
    """(lines, orders, daily, catalogue) frames as the marts hold them."""
    rng = np.random.default_rng(seed)
    launch = {i: 0 if i < items - 8 else int(rng.integers(days - 60, days - 10))
              for i in range(items)}
    line_rows, order_rows = [], []
    for c in range(customers):
        favourites = rng.choice(items - 8, size=6, replace=False)
        one_order = c >= customers - 8
        order_days = ([int(rng.integers(0, days))] if one_order
                      else sorted(rng.choice(days, size=int(rng.integers(3, 12)), replace=False)))
        for d in order_days:
            basket = set(rng.choice(favourites, size=3, replace=False))
            basket |= {int(i) for i in rng.choice(items, size=2) if launch[int(i)] <= d}
            basket = {i for i in basket if launch[i] <= d}
            for i in basket:
                line_rows.append((START + timedelta(days=int(d)), f"C{c:03d}", f"I{i:03d}", 1))
            order_rows.append((START + timedelta(days=int(d)), f"C{c:03d}", 1,
                               "DE" if c % 3 else "FR"))
    lines = pd.DataFrame(line_rows, columns=["order_date", "customer_id", "item_id", "orders"])
    lines = lines.groupby(["order_date", "customer_id", "item_id"], as_index=False)["orders"].sum()
    orders = pd.DataFrame(order_rows, columns=["order_date", "customer_id", "orders", "store"])
    orders = orders.groupby(["order_date", "customer_id"], as_index=False).agg(
        orders=("orders", "sum"), store=("store", "last"))
    daily = lines.groupby(["order_date", "item_id"], as_index=False).agg(
        units=("orders", "sum"), orders=("orders", "sum"))
    daily["revenue"] = daily["units"] * 2.0
    daily["item_name"] = "ITEM " + daily["item_id"]
    catalogue = pd.DataFrame({"item_id": ["I999"], "launch_date": [START + timedelta(days=days - 3)],
                              "list_price": [3.0], "category": ["unknown"],
                              "item_name": ["NEW LISTED ITEM"]})
    return lines, orders, daily, catalogue


@pytest.fixture(scope="session")
def tiny_config() -> RecommenderConfig:
    return RecommenderConfig(embedding=8, hidden=16, content=8, outer_steps=30, tasks_per_step=32,
                             origins=6, positives=8, negatives=16, seed=1)


@pytest.fixture(scope="session")
def trained(shop, tiny_config):
    from models.recommender.train import meta_train

    return meta_train(shop.until(shop.run_date - timedelta(days=20)), tiny_config, log=None)


@pytest.fixture(scope="session")
def shop() -> ShopHistory:
    lines, orders, daily, catalogue = tiny_shop_frames()
    return history_from_frames(lines, orders, daily, catalogue,
                               end=START + timedelta(days=DAYS - 1))


def with_big_orders_after(shop, d):
    """The shop with every customer ordering the least popular item 50 times after D."""
    p, after = shop.purchases, shop.until(d).column + 5
    item = int(np.argmin(np.bincount(p.item, minlength=len(p.item_ids))))
    n = len(p.customer_ids)
    purchases = replace(
        p, customer=np.r_[p.customer, np.arange(n)], item=np.r_[p.item, np.full(n, item)],
        day=np.r_[p.day, np.full(n, after)], orders=np.r_[p.orders, np.full(n, 50.0, np.float32)],
        order_customer=np.r_[p.order_customer, np.arange(n)],
        order_day=np.r_[p.order_day, np.full(n, after)],
        order_count=np.r_[p.order_count, np.full(n, 50.0, np.float32)],
        order_store=np.r_[p.order_store, np.full(n, list(p.store_ids).index("DE"))])
    orders = shop.items.orders.copy()
    orders[shop.item_rows_of_purchases[item], after] += 50.0 * n
    return replace(shop, purchases=purchases, items=replace(shop.items, orders=orders))
