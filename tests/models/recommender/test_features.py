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


def test_a_profile_weighs_each_item_bought_once_by_orders_and_age(shop):
    """One (row, item) entry per item a customer bought up to t, items ascending within a row
    (a valid CSR matrix), weighted as the events say; also where a row ends with the item the
    next begins with, and where a customer repeats."""
    from models.recommender.features import RECENCY_DAYS

    history = shop.until(shop.run_date - timedelta(days=5))
    fx = RecFeatures(history, [], [], [])
    p, item_rows = history.purchases, history.item_rows_of_purchases

    def bought(c, cutoff) -> dict[int, float]:
        mine = (p.customer == c) & (p.day <= cutoff) & (item_rows[p.item] >= 0)
        w = p.orders[mine] * np.exp(-(cutoff - p.day[mine]) / RECENCY_DAYS)
        per_item: dict[int, float] = {}
        for i, wi in zip(item_rows[p.item[mine]], w):
            per_item[int(i)] = per_item.get(int(i), 0.0) + wi / w.sum()
        return per_item

    rng = np.random.default_rng(7)
    customers = rng.integers(0, len(p.customer_ids), 80)
    customers[1::7] = customers[::7][:len(customers[1::7])]  # neighbours that repeat
    t = rng.integers(0, history.column + 1, len(customers))
    lists = {(c, d): sorted(bought(c, d)) for c in range(len(p.customer_ids))
             for d in np.unique(p.day[p.customer == c])}
    a, b = next((a, b) for a in lists for b in lists  # the last item of a is b's first
                if a[0] != b[0] and lists[a] and lists[b] and lists[a][-1] == lists[b][0])
    customers, t = np.r_[a[0], b[0], customers], np.r_[a[1], b[1], t]
    rows, items, weights = fx.profile(customers, t)
    expected = [(row, i, w) for row, (c, d) in enumerate(zip(customers, t))
                for i, w in sorted(bought(c, d).items())]
    assert list(zip(rows.tolist(), items.tolist())) == [(r, i) for r, i, _ in expected]
    np.testing.assert_allclose(weights, [w for _, _, w in expected], rtol=1e-5)


def test_features_of_customer_codes_times_items_past_32_bits_do_not_overflow(shop):
    """Purchases hold 32-bit customer codes; the lookups multiply them by items and days. The
    same customers with codes 50 million higher (codes x items past 2**31) get the same
    features (the lookups read codes only, not the ids)."""
    from dataclasses import replace

    from models.recommender.features import RecFeatures

    p, pad = shop.purchases, 50_000_000
    shifted = replace(shop, purchases=replace(
        p, customer=p.customer + np.int32(pad), order_customer=p.order_customer + np.int32(pad)))
    assert pad * len(shop.items.item_ids) > 2**31
    args = (sorted(set(shop.items.category)), p.stores(), list(shop.items.item_ids))
    plain, big = RecFeatures(shop, *args), RecFeatures(shifted, *args)
    customers = shop.customers()[:20]
    t = np.full(len(customers), shop.column)
    for name in ("customers", "last_order_day", "profile"):
        a, b = getattr(plain, name)(customers, t), getattr(big, name)(customers + pad, t)
        for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
            np.testing.assert_array_equal(x, y, err_msg=name)
    rows = shop.sellable()[:5]
    np.testing.assert_array_equal(
        plain.pairs(np.repeat(customers, 5), np.tile(rows, 20), np.repeat(t, 5)),
        big.pairs(np.repeat(customers + pad, 5), np.tile(rows, 20), np.repeat(t, 5)))
