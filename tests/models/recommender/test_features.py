"""Feature lookups of the recommender against the purchases they are read from."""
from datetime import timedelta

import numpy as np
import pytest

from models.recommender.features import RecFeatures


@pytest.mark.parametrize("window_days", [1, 3, 40, None])  # None: everything up to the cutoff
def test_bought_in_gives_each_item_bought_in_the_window_once(shop, window_days):
    history = shop.until(shop.run_date - timedelta(days=5))
    fx = RecFeatures(history, [], [], [])
    p, rows = history.purchases, history.item_rows_of_purchases
    rng = np.random.default_rng(window_days or 0)
    customers = rng.integers(0, len(p.customer_ids), 120)  # repeats on purpose
    until = rng.integers(0, history.column + 1, len(customers))
    after = np.full(len(customers), -1) if window_days is None else until - window_days
    owner, items = fx.bought_in(customers, after, until)
    expected = sorted(
        (at, int(rows[i])) for at, c in enumerate(customers)
        for i in set(p.item[(p.customer == c) & (p.day > after[at]) & (p.day <= until[at])])
        if rows[i] >= 0)
    assert list(zip(owner.tolist(), items.tolist())) == expected
