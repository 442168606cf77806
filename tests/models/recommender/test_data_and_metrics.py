"""The recommender's view of the shop at D, and the metrics of docs/evaluation.md on hand-made lists."""
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from models.recommender.data import find_sorted, history_from_frames, position_in_runs, run_starts, \
    run_sums, window_buyers, window_purchases
from models.recommender.metrics import Recommendations, score, top_k


def test_until_keeps_only_what_was_known(shop):
    d = shop.run_date - timedelta(days=30)
    past = shop.until(d)
    assert past.purchases.day.max() <= past.column
    assert past.items.end == d
    # a customer whose first order is after D is not a customer yet
    first = {c: (shop.purchases.order_day[shop.purchases.order_customer == c]).min()
             for c in np.unique(shop.purchases.order_customer)}
    later = [c for c, day in first.items() if day > past.column]
    assert later and not set(later) & set(past.customers())
    with pytest.raises(ValueError, match="after the history's end"):
        shop.until(shop.run_date + timedelta(days=1))


def test_segments_follow_order_counts(shop):
    rows = shop.customers()
    orders = shop.purchases.orders_per_customer()[rows]
    segments = shop.segments(rows)
    assert (segments[orders <= 2] == "cold").all() and (segments[orders >= 3] == "warm").all()
    assert {"cold", "warm"} == set(segments)


def test_matrix_and_recency_of_purchases(shop):
    rows, items = shop.customers()[:5], shop.sellable()
    m = shop.matrix(rows, items).toarray()
    since = shop.days_since_bought(rows, items)
    assert m.sum() > 0
    assert (np.isinf(since) == (m == 0)).all()       # bought <=> has a latest purchase
    assert (since[np.isfinite(since)] >= 0).all()


def test_window_purchases_are_after_d_only(shop):
    d = shop.run_date - timedelta(days=30)
    relevant = window_purchases(shop, d, 30)
    p = shop.purchases
    after = p.day > shop.until(d).column
    bought = {(c, i) for c, i in zip(p.customer_ids[p.customer[after]], p.item_ids[p.item[after]])}
    assert {(c, i) for c, items in relevant.items() for i in items} == bought
    with pytest.raises(ValueError, match="before D\\+30"):
        window_purchases(shop, shop.run_date - timedelta(days=10), 30)


def test_window_buyers_from_order_rows_are_the_customers_of_the_windows_purchases(shop):
    for back in (30, 45):
        d = shop.run_date - timedelta(days=back)
        buyers = window_buyers(shop, d, 30)
        assert len(buyers) > 0
        assert set(shop.purchases.customer_ids[buyers]) == set(window_purchases(shop, d, 30))
    with pytest.raises(ValueError, match="before D\\+30"):
        window_buyers(shop, shop.run_date - timedelta(days=10), 30)


def test_top_k_is_best_first_with_ties_by_column():
    scores = np.array([[0.1, 0.5, 0.5, 0.9, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    cols, best = top_k(scores, 3)
    assert cols.tolist() == [[3, 1, 2], [0, 1, 2]]
    assert best.tolist() == [[0.9, 0.5, 0.5], [1.0, 1.0, 1.0]]
    assert top_k(scores, 10)[0].shape == (2, 5)  # fewer items than k: every item, once


@pytest.mark.parametrize("columns", [50, 2 ** 62])  # the packed key, and the fallback past 64 bits
def test_own_entries_order_by_row_then_best_then_lower_column_as_lexsort(columns):
    from models.recommender.metrics import _order_by_row_best_first

    rng = np.random.default_rng(3)
    rows = np.sort(rng.integers(0, 40, 2_000))
    cols = rng.integers(0, 50, 2_000)
    keep = np.unique(rows * 50 + cols, return_index=True)[1]  # distinct (row, column), sorted
    rows, cols = rows[keep], cols[keep]
    total = rng.integers(0, 5, len(rows)) / 4.0  # many ties within a row
    expected = np.lexsort((cols, -total, rows))
    np.testing.assert_array_equal(_order_by_row_best_first(rows, cols, total, columns), expected)


def test_recall_ndcg_coverage_by_hand():
    recs = Recommendations(np.array(["a", "b", "c"]),
                           np.array([["x", "y"], ["y", "z"], ["x", "z"]]), np.zeros((3, 2)))
    relevant = {"a": {"y", "w"}, "b": {"y"}}            # c bought nothing: not scored
    segment = {"a": "cold", "b": "warm", "c": "warm"}
    out = score(recs, relevant, segment, sellable=np.array(["x", "y", "z", "v"]),
                cold_items={"z"})
    assert out["cold"]["recall_at_20"] == pytest.approx(0.5)
    # a: hit at rank 2 of 2 relevant -> (1/log2 3) / (1 + 1/log2 3)
    assert out["cold"]["ndcg_at_20"] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    assert out["warm"]["recall_at_20"] == 1.0 and out["warm"]["ndcg_at_20"] == 1.0
    assert out["all"]["customers"] == 2
    assert out["all"]["catalogue_coverage"] == pytest.approx(3 / 4)
    assert out["all"]["new_item_share"] == pytest.approx(2 / 6)
    assert out["all"]["new_item_hit_rate"] == 0.0
    assert np.isnan(out["cold"]["recall_from_repeats"])  # not asked for


def test_recall_splits_into_repeats_and_explore_by_hand():
    recs = Recommendations(np.array(["a", "b"]),
                           np.array([["x", "y", "w"], ["y", "z", "v"]]), np.zeros((2, 3)))
    relevant = {"a": {"x", "w", "u", "t"}, "b": {"y", "v"}}
    segment = {"a": "cold", "b": "warm"}
    before = {"a": {"x", "u"}, "b": set()}
    out = score(recs, relevant, segment, np.array(["x", "y", "z", "w", "v", "u", "t"]), set(),
                bought_before=before)
    # a: hits x (a repeat) and w (new to a) of 4 bought; u is a repeat it missed
    assert out["cold"]["recall_at_20"] == pytest.approx(0.5)
    assert out["cold"]["recall_from_repeats"] == pytest.approx(0.25)
    assert out["cold"]["recall_from_explore"] == pytest.approx(0.25)
    assert out["cold"]["repeat_share"] == pytest.approx(0.5)
    assert out["warm"]["recall_from_repeats"] == 0.0 and out["warm"]["repeat_share"] == 0.0
    assert out["all"]["recall_from_repeats"] == pytest.approx(0.125)


def per_customer_reference(recs, relevant, segment, before):
    """docs/evaluation.md's definitions one customer at a time: what ``score`` computes at once."""
    per = {"cold": [], "warm": [], "all": []}
    for customer, items in zip(recs.customer_ids, recs.item_ids):
        bought = relevant.get(customer)
        if not bought:
            continue
        hits = np.array([i in bought for i in items], dtype=float)
        discounts = 1.0 / np.log2(np.arange(2, len(items) + 2))
        ideal = discounts[:min(len(bought), len(items))].sum()
        mine = before.get(customer, set())
        row = (hits.sum() / len(bought), (hits * discounts).sum() / ideal,
               sum(1 for i, h in zip(items, hits) if h and i in mine) / len(bought),
               len(bought & mine) / len(bought))
        per[segment[customer]].append(row)
        per["all"].append(row)
    return {name: np.array(rows).mean(axis=0) if rows else np.full(4, np.nan) for name, rows in per.items()}


def test_score_equals_the_per_customer_definitions_on_random_lists():
    rng = np.random.default_rng(3)
    catalogue = np.array([f"i{j}" for j in range(60)], dtype=object)
    customers = np.array([f"c{j}" for j in range(400)], dtype=object)
    recs = Recommendations(customers, np.array([rng.choice(catalogue, 20, replace=False)
                                                for _ in customers]), np.zeros((400, 20)))
    relevant = {c: set(rng.choice(catalogue, rng.integers(1, 30), replace=False))
                for c in customers if rng.random() < 0.7}
    before = {c: set(rng.choice(catalogue, rng.integers(0, 25), replace=False)) for c in customers}
    segment = {c: "cold" if rng.random() < 0.4 else "warm" for c in customers}
    cold = set(catalogue[:10])
    out = score(recs, relevant, segment, catalogue[:50], cold, bought_before=before)
    reference = per_customer_reference(recs, relevant, segment, before)
    for name in ("cold", "warm", "all"):
        got = [out[name][m] for m in ("recall_at_20", "ndcg_at_20", "recall_from_repeats", "repeat_share")]
        np.testing.assert_allclose(got, reference[name], rtol=1e-12)
    slots = recs.item_ids.ravel()
    cold_slots = np.array([i in cold for i in slots])
    hit = np.array([i in relevant.get(c, ()) for c, row in zip(customers, recs.item_ids) for i in row])
    assert out["all"]["new_item_share"] == pytest.approx(cold_slots.mean())
    assert out["all"]["new_item_hit_rate"] == pytest.approx(hit[cold_slots].sum() / cold_slots.sum())
    assert out["all"]["customers"] == len(relevant)


def test_the_checksum_does_not_depend_on_the_order_rows_arrive_in():
    from tests.models.recommender.conftest import tiny_shop_frames

    lines, orders, daily, catalogue = tiny_shop_frames()
    one = history_from_frames(lines, orders, daily, catalogue)
    shuffled = history_from_frames(lines.sample(frac=1, random_state=1),
                                   orders.sample(frac=1, random_state=2),
                                   daily.sample(frac=1, random_state=3), catalogue)
    assert one.checksum() == shuffled.checksum()
    changed = lines.copy()
    changed.loc[0, "orders"] += 1
    assert history_from_frames(changed, orders, daily, catalogue).checksum() != one.checksum()


def test_the_checksum_through_a_day_sees_every_change_up_to_it_and_none_after():
    from tests.models.recommender.conftest import tiny_shop_frames

    lines, orders, daily, catalogue = tiny_shop_frames()
    one = history_from_frames(lines, orders, daily, catalogue)
    through = one.run_date - timedelta(days=30)
    assert one.checksum(through) == one.until(through).checksum()
    dates = pd.to_datetime(lines["order_date"]).dt.date
    early, late = lines.index[dates <= through][0], lines.index[dates > through][0]
    for changed_lines, changed_orders, seen in (
            (lines.assign(orders=lines["orders"].where(lines.index != early, 7)), orders, True),
            (lines.assign(orders=lines["orders"].where(lines.index != late, 7)), orders, False),
            (lines, orders.assign(store=orders["store"].where(orders.index != 0, "XX")), True)):
        other = history_from_frames(changed_lines, changed_orders, daily, catalogue)
        assert (other.checksum(through) != one.checksum(through)) == seen


def test_purchases_load_as_compact_arrays_in_customer_order_across_fetch_batches(monkeypatch):
    """The events stream in batches (``_fetch_arrays``): with batches of 7 rows, every row still
    arrives once, in (customer, item, day) order, as 32-bit codes and days."""
    from models.recommender import data
    from tests.models.recommender.conftest import tiny_shop_frames

    lines, orders, daily, catalogue = tiny_shop_frames()
    whole = history_from_frames(lines, orders, daily, catalogue)
    monkeypatch.setattr(data, "FETCH_ROWS", 7)
    batched = history_from_frames(lines.sample(frac=1, random_state=4), orders, daily, catalogue)
    p, q = whole.purchases, batched.purchases
    assert len(q.customer) == len(lines) and len(q.order_customer) == len(orders)
    for name in ("customer", "item", "day", "orders", "order_customer", "order_day",
                 "order_count", "order_store"):
        assert getattr(q, name).dtype.itemsize == 4, name
        np.testing.assert_array_equal(getattr(q, name), getattr(p, name), err_msg=name)
    key = (q.customer.astype(np.int64) * len(q.item_ids) + q.item) * 1000 + q.day
    assert (np.diff(key) >= 0).all()


def test_events_of_customers_are_the_same_whatever_order_the_events_are_held_in(shop):
    """Events in customer order (as loaded) are read without a sorted copy; any other order
    gives the same matrix and recency."""
    rng = np.random.default_rng(0)
    p = shop.purchases
    shuffled = shop.__class__(shop.run_date, p.take(rng.permutation(len(p.customer)),
                                                     np.arange(len(p.order_customer))), shop.items)
    rows, items = shop.customers()[::3], shop.sellable()
    np.testing.assert_array_equal(shop.matrix(rows, items).toarray(),
                                  shuffled.matrix(rows, items).toarray())
    np.testing.assert_array_equal(shop.days_since_bought(rows, items),
                                  shuffled.days_since_bought(rows, items))
    sub = shop.of_customers(rows[:4])
    assert set(sub.purchases.customer) == set(rows[:4])


def test_rank_chunks_keeps_the_customers_order_when_chunks_finish_out_of_order(monkeypatch):
    import threading
    import time

    from models.recommender import metrics

    monkeypatch.setattr(metrics, "SCORING_THREADS", 3)
    rng = np.random.default_rng(0)
    scores = rng.random((23, 9))
    threads = set()

    def score(part):  # the first chunks take longest: they finish last
        threads.add(threading.get_ident())
        time.sleep(0.05 * (23 - part[0]) / 23)
        return scores[part]

    ids, items = np.array([f"C{i}" for i in range(23)]), np.array([f"I{i}" for i in range(9)])
    recs = metrics.rank_chunks(ids, items, np.arange(23), 4, score, k=5)
    cols, best = top_k(scores, 5)
    assert len(threads) > 1  # the chunks did run on several threads
    assert recs.customer_ids.tolist() == ids.tolist()
    assert recs.item_ids.tolist() == items[cols].tolist()
    assert np.array_equal(recs.scores, best)
    empty = metrics.rank_chunks(ids, items, np.arange(0), 4, score, k=5)
    assert len(empty.customer_ids) == 0
    assert empty.item_ids.shape == (0, 5) and empty.scores.shape == (0, 5)


def test_runs_of_sorted_keys_and_lookups_against_plain_numpy():
    """The sorted-array helpers the recommender's hot paths share, against loops and np.isin."""
    keys = np.array([2, 2, 2, 5, 7, 7, 9])
    assert run_starts(keys).tolist() == [0, 3, 4, 6]
    assert position_in_runs(keys).tolist() == [0, 1, 2, 0, 0, 1, 0]
    assert len(run_starts(keys[:0])) == len(position_in_runs(keys[:0])) == 0
    weights = np.arange(1.0, 8.0)
    assert run_sums(weights, run_starts(keys)).tolist() == [6.0, 4.0, 11.0, 7.0]
    assert run_sums(weights[:0], run_starts(keys[:0])).shape == (0,)
    distinct_keys = np.unique(keys)
    values = np.array([1, 2, 5, 6, 9, 10])
    at, found = find_sorted(values, distinct_keys)
    assert found.tolist() == np.isin(values, distinct_keys).tolist()
    assert (distinct_keys[at[found]] == values[found]).all() and (at < len(distinct_keys)).all()
    at, found = find_sorted(values, distinct_keys[:0])
    assert not found.any() and len(at) == len(values)
