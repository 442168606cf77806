"""What the two-stage recommender reads of a history (``ranker.Signals``), computed by the fast
paths measured in decision 0032, against the plain computation they replace: co-occurrence
counts (dense products for customers who bought much of the catalogue), each row's largest
entries (a partition before the sort), distinct keys by a sort, and per-pair aggregates whether
or not the events arrive in pair order."""
from dataclasses import replace

import numpy as np
import pytest
from scipy import sparse

from models.recommender import ranker
from models.recommender.data import distinct


def _buyers(seed: int = 0) -> sparse.csr_matrix:
    """0/1 customers x items: 300 light customers (a few items) and 12 heavy ones (most items)."""
    rng = np.random.default_rng(seed)
    light = rng.random((300, 80)) < 0.03
    heavy = rng.random((12, 80)) < 0.7
    return sparse.csr_matrix(np.vstack([light, heavy]).astype(np.float64))


@pytest.mark.parametrize("block", [5, 4096])
def test_co_counts_split_dense_and_sparse_equal_the_sparse_product(monkeypatch, block):
    x = _buyers()
    monkeypatch.setattr(ranker, "DENSE_BLOCK", block)
    assert (np.diff(x.indptr) > ranker.DENSE_SHARE * x.shape[1]).sum() >= 12  # the dense path runs
    counts = ranker._co_counts(x)
    assert isinstance(counts, sparse.csr_matrix)
    np.testing.assert_array_equal(counts.toarray(), (x.T @ x).toarray())


def test_co_counts_stay_sparse_for_a_wide_catalogue(monkeypatch):
    x = _buyers()
    monkeypatch.setattr(ranker, "DENSE_ITEMS", 79)  # an (n, n) dense matrix would be too big
    monkeypatch.setattr(ranker, "DENSE_BLOCK", 0)    # the dense path would fail on its blocks
    np.testing.assert_array_equal(ranker._co_counts(x).toarray(), (x.T @ x).toarray())


def test_top_per_row_is_each_rows_largest_ties_by_column():
    rng = np.random.default_rng(1)
    dense = rng.integers(0, 4, (40, 25)).astype(np.float64)  # many ties, some empty rows
    dense[::7] = 0
    m = sparse.csr_matrix(dense)
    rows, cols, values = ranker._top_per_row(m, 5)
    expected = [(r, c) for r in range(m.shape[0])
                for c in sorted(np.flatnonzero(dense[r]), key=lambda c: (-dense[r, c], c))[:5]]
    assert list(zip(rows.tolist(), cols.tolist())) == expected
    np.testing.assert_array_equal(values, dense[rows, cols])
    # a product's columns come unsorted: the same entries, ties still in column order
    shuffled = m.copy()
    for r in range(m.shape[0]):
        at = slice(m.indptr[r], m.indptr[r + 1])
        flip = np.arange(at.start, at.stop)[::-1]
        shuffled.indices[at], shuffled.data[at] = m.indices[flip], m.data[flip]
    shuffled.has_sorted_indices = False
    again = ranker._top_per_row(shuffled, 5)
    assert list(zip(again[0].tolist(), again[1].tolist())) == expected


def test_distinct_is_numpys_unique():
    values = np.random.default_rng(2).integers(0, 1000, 5000)
    np.testing.assert_array_equal(distinct(values), np.unique(values))
    assert distinct(np.zeros(0, np.int64)).shape == (0,)


def test_signals_do_not_depend_on_the_order_events_arrive_in(shop):
    p = shop.purchases
    shuffled = replace(shop, purchases=p.take(np.random.default_rng(3).permutation(len(p.customer)),
                                              np.arange(len(p.order_customer))))
    a, b = ranker.Signals.of(shop), ranker.Signals.of(shuffled)
    np.testing.assert_array_equal(a.pair_keys, b.pair_keys)
    np.testing.assert_allclose(a.pair, b.pair)
    assert (a.neighbours != b.neighbours).nnz == 0
    np.testing.assert_allclose(a.store_orders, b.store_orders)


def test_store_orders_are_the_last_30_days_where_each_customer_ordered_last(shop):
    """Each store's orders of each item over the last 30 days, every customer counted at the
    store of their latest order: the plain loop over the purchases."""
    signals = ranker.Signals.of(shop)
    p, d = shop.purchases, shop.column
    store = p.latest_store_code()
    column = {row: at for at, row in enumerate(signals.items)}
    expected = np.zeros_like(signals.store_orders)
    recent = 0
    for c, i, day, orders in zip(p.customer, p.item, p.day, p.orders):
        row = shop.item_rows_of_purchases[i]
        if d - day < 30 and row in column:
            expected[store[c], column[row]] += orders
            recent += 1
    assert recent and expected.any(axis=1).sum() == 2  # both stores of the tiny shop ordered
    np.testing.assert_allclose(signals.store_orders, expected)
    assert (signals.store_orders[np.arange(2)[:, None], signals.store_top[:, :-1]]
            >= signals.store_orders[np.arange(2)[:, None], signals.store_top[:, 1:]]).all()


def test_items_named_alike_by_their_rarer_words():
    """Name neighbours: items sharing a design's word are nearer than items sharing a word
    that many items have; a word of one item links nothing; never the item itself; symmetric
    scores; at most NAME_NEIGHBOURS_PER_ITEM per item, in blocks as at once."""
    names = np.array(["RED RETROSPOT LUNCH BAG", "RED RETROSPOT JUMBO BAG", "BLUE POLKADOT LUNCH BAG",
                      "PINK OWL DOORSTOP", "ZEBRA", "", *[f"PLAIN BAG {k}" for k in range(30)]])
    m = ranker._name_neighbours(names).toarray()
    assert m.shape == (36, 36) and (np.diag(m) == 0).all()
    assert m[0, 1] > m[0, 2] > 0  # RED RETROSPOT (2 items) before LUNCH BAG (BAG: 33 items)
    assert m[0, 1] == pytest.approx(m[1, 0])
    assert not m[3].any() and not m[4].any() and not m[5].any()  # no word shared
    assert ((m > 0).sum(axis=1) <= ranker.NAME_NEIGHBOURS_PER_ITEM).all()
    kept = m > 0
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ranker, "NAME_BLOCK", 7)
        np.testing.assert_allclose(ranker._name_neighbours(names).toarray(), m)
    assert kept[6].sum() == ranker.NAME_NEIGHBOURS_PER_ITEM  # the plain bags: 20 of 32 alike
