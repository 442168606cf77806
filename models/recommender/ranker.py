"""The two-stage recommender: candidates per customer from simple sources, then a learned ranker.

Candidates: the customer's own past items, the co-occurrence neighbours of what they bought
(recency-weighted), the items whose descriptions share its rarer words (the same design or
product line: decision 0039), the most popular items of the last 30 days, those of the
customer's store and the most popular of the customer's two main categories. A LightGBM
lambdarank model orders them on repeat signals (orders, distinct days, recency, gaps, the item's
rebuy rate), co-occurrence and name similarity, popularity and its trend, the customer's
expected orders of the item from their orders in its category (decision 0059), and what kind
of customer it is. It is trained point in time: at the
origins D - 30, D - 60, ... the candidates made from the history up to that origin are labelled
with what the customer bought in the 30 days after it, all known at D (the task construction of
the network, models/recommender/train.py). Lists are the ranked candidates, then recent
popularity, so the whole sellable catalogue stays reachable.

LightGBM rather than scikit-learn's histogram boosting: it optimises the ranking itself
(lambdarank, truncated at the list length) and saves as text, which loads without running
code (decision 0016 has the measurements).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy import sparse

from models import trees
from models.content import VOCABULARY, word_ids
from models.recommender import baselines
from models.recommender.data import ShopHistory, distinct, find_sorted, position_in_runs, \
    ranges, run_starts, run_sums, sorted_order
from models.recommender.metrics import K, WINDOW_DAYS, Recommendations, rank_chunks, \
    top_k_own_plus_shared

NEIGHBOURS_PER_ITEM = 30       # co-occurrence neighbours kept per item
NEIGHBOUR_CANDIDATES = 40      # per customer, from their items' neighbours
POPULAR_CANDIDATES = 30
CATEGORY_CANDIDATES = 10       # per main category, two categories (5-20 measured: decision 0043)
STORE_CANDIDATES = 10          # the most ordered of the last 30 days in the customer's store
NAME_NEIGHBOURS_PER_ITEM = 20  # items named alike kept per item
NAME_CANDIDATES = 10           # per customer, from their items' names
DECAY_DAYS = 60.0
CATEGORY_PRIOR_ORDERS = 5.0    # a new customer's orders, spread over categories as the shop's (0059)
CHUNK = 2048

FEATURES = (
    "own", "orders", "days", "since_first", "since_last", "mean_gap", "since_last_over_gap",
    "decayed_orders", "share_of_orders", "item_rebuy_rate", "item_buyers", "item_orders_7",
    "item_orders_30", "item_orders_90", "item_trend", "item_age", "customer_orders",
    "customer_since_last", "customer_items", "customer_repeat_share", "category_share",
    "neighbour_score", "neighbour_rank", "popular_rank", "store_rank", "store_share",
    "name_score", "name_rank", "category_expected", "category_expected_rank")


@dataclass
class Signals:
    """What ranking reads of a history, computed once: per item column (into ``items``), per
    customer row, per (customer, item) pair bought, and the pruned co-occurrence graph."""
    history: ShopHistory
    items: np.ndarray                  # sellable item rows; columns index into it
    pair_keys: np.ndarray              # sorted customer * n + column of every pair bought
    pair: np.ndarray                   # (pairs, 5): orders, distinct days, first, last, decayed
    item: np.ndarray                   # (n, 7): rebuy rate, buyers, orders 7/30/90, trend, age
    category: np.ndarray               # (n,) category code per column
    customer: dict                     # name -> (customers,) array
    neighbours: sparse.csr_matrix      # (n, n) cosine, top NEIGHBOURS_PER_ITEM per row
    names: sparse.csr_matrix           # (n, n) cosine of the names, top NAME_NEIGHBOURS_PER_ITEM
    popular: np.ndarray                # columns by recent popularity, best first
    store: np.ndarray                  # (customers,) row of the customer's latest store, -1: none
    store_orders: np.ndarray           # (stores, n) orders of the last 30 days in each store
    store_top: np.ndarray              # (stores, n) columns by those orders, best first
    store_rank: np.ndarray             # (stores, n) each column's place in store_top
    fill: np.ndarray                   # baselines.fill_scores
    customer_category: np.ndarray      # sorted customer * categories + category of every pair
    customer_category_orders: np.ndarray  # the customer's orders in that category
    item_in_category: np.ndarray       # (n,) the item's share of its category's last 30 days
    category_prior: np.ndarray         # (categories,) CATEGORY_PRIOR_ORDERS spread by those days

    @classmethod
    def of(cls, history: ShopHistory) -> "Signals":
        items = history.sellable()
        n, d = len(items), history.column
        everyone = history.customers()
        rows, cols, at = history.events(everyone, items)
        c = everyone[rows]
        p = history.purchases
        day, orders = p.day[at].astype(np.int64), p.orders[at].astype(np.float64)
        key = c.astype(np.int64) * n + cols
        # by pair, then day: events come so when the panel lists items in id order, as loaded
        # (no sort of the year's events, 6.5 s on the foundation shop); one packed key otherwise
        order = sorted_order(key * (d + 1) + day)
        key, day, orders = key[order], day[order], orders[order]
        starts = run_starts(key)
        pair_keys = key[starts]
        ends = np.r_[starts[1:], len(key)]
        pair = np.zeros((len(starts), 5))
        if len(key):
            pair[:, 0] = run_sums(orders, starts)
            pair[:, 1] = ends - starts                       # distinct days (an event is a day)
            pair[:, 2] = day[starts]
            pair[:, 3] = day[ends - 1]
            pair[:, 4] = pair[:, 0] * np.exp(-(d - pair[:, 3]) / DECAY_DAYS)
        pair_col = pair_keys % n
        pair_cust = pair_keys // n
        buyers = np.bincount(pair_col, minlength=n).astype(np.float64)
        again = np.bincount(pair_col, weights=(pair[:, 1] > 1), minlength=n)
        panel = history.items.orders[items]
        o7, o30, o90 = (panel[:, -w:].sum(axis=1).astype(np.float64) for w in (7, 30, 90))
        first = history.items.first_sale()[items]
        item = np.stack([(again + 1) / (buyers + 5), np.log1p(buyers), np.log1p(o7), np.log1p(o30),
                         np.log1p(o90), (o7 / 7 + 0.1) / (o30 / 30 + 0.1),
                         np.where(first >= 0, d - first, -1)], axis=1)
        category = pd.factorize(np.asarray(history.items.category)[items])[0]
        n_customers = len(p.customer_ids)
        pairs_per = np.bincount(pair_cust, minlength=n_customers).astype(np.float64)
        days_per = np.bincount(pair_cust, weights=pair[:, 1], minlength=n_customers)
        last_order = np.full(n_customers, -1)
        np.maximum.at(last_order, p.order_customer, p.order_day)
        customer = {"orders": p.orders_per_customer(), "items": pairs_per,
                    "since_last": np.where(last_order >= 0, d - last_order, -1),
                    "repeat_share": np.where(days_per > 0, 1 - pairs_per / np.maximum(days_per, 1), 0)}
        # a store's recent orders, each customer's counted where they ordered last
        store = p.latest_store_code()
        where = store[c[order]]
        recent = (day > d - 30) & (where >= 0)
        store_orders = np.bincount(where[recent] * n + cols[order][recent], weights=orders[recent],
                                   minlength=len(p.store_ids) * n).reshape(len(p.store_ids), n)
        store_top = np.argsort(-store_orders, axis=1, kind="stable")
        store_rank = np.empty_like(store_top)
        np.put_along_axis(store_rank, store_top, np.arange(n)[None, :], axis=1)
        # each customer's orders per category, and each item's share of its category's orders
        n_categories = category.max() + 1 if n else 1
        # pairs come by customer, so the keys are nearly in order: no np.unique (a hash table)
        by_key = pair_cust * n_categories + category[pair_col]
        in_order = sorted_order(by_key)
        by_key = by_key[in_order]
        runs = run_starts(by_key)
        in_category = np.bincount(category, weights=o30, minlength=n_categories)
        return cls(history, items, pair_keys, pair, item, category, customer,
                   _neighbours(pair_cust, pair_col, n_customers, n),
                   _name_neighbours(np.asarray(history.items.item_name)[items]),
                   np.argsort(-o30, kind="stable"),
                   store, store_orders, store_top, store_rank, baselines.fill_scores(history, items),
                   by_key[runs],
                   run_sums(pair[in_order, 0], runs),
                   (o30 + 0.1) / (in_category[category] + 1),
                   CATEGORY_PRIOR_ORDERS * (in_category + 0.1) / (in_category.sum() + 0.1 * n_categories))

    def category_expected(self, customers: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """log of (the customer's orders in the item's category + the prior) x the item's share
        of that category's last 30 days: where customers buy by their taste for a category and
        an item's sales are split among the category's buyers, proportional to the customer's
        expected orders of the item. A customer's first orders move it from the shop's mix."""
        category = self.category[cols]
        key = customers.astype(np.int64) * len(self.category_prior) + category
        at, found = find_sorted(key, self.customer_category)
        orders = np.where(found, self.customer_category_orders[at], 0.0) \
            if len(self.customer_category) else 0.0
        return np.log(self.item_in_category[cols] * (orders + self.category_prior[category]))

    def candidates(self, customers: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(block rows, columns, neighbour scores, name scores) of every candidate of
        ``customers``, sorted by row and column, distinct."""
        n, m = len(self.items), len(customers)
        lo = np.searchsorted(self.pair_keys, customers.astype(np.int64) * n, side="left")
        hi = np.searchsorted(self.pair_keys, (customers.astype(np.int64) + 1) * n, side="left")
        owner, at = ranges(lo, hi)
        own_cols = self.pair_keys[at] % n
        weights = sparse.csr_matrix((self.pair[at, 4], (owner, own_cols)), shape=(m, n))
        total = np.asarray(weights.sum(axis=1)).ravel()
        weights = sparse.diags(1 / np.maximum(total, 1e-12)) @ weights
        near = (weights @ self.neighbours).tocsr()
        near_rows, near_cols, _ = _top_per_row(near, NEIGHBOUR_CANDIDATES)
        named = (weights @ self.names).tocsr()
        name_rows, name_cols, _ = _top_per_row(named, NAME_CANDIDATES)
        popular = self.popular[:POPULAR_CANDIDATES]
        # the customer's two main categories, by decayed orders
        cat_weight = sparse.csr_matrix((self.pair[at, 4], (owner, self.category[own_cols])),
                                       shape=(m, self.category.max() + 1 if n else 1)).toarray()
        main = np.argsort(-cat_weight, axis=1, kind="stable")[:, :2]
        by_category = _popular_by_category(self.category, self.popular, CATEGORY_CANDIDATES)
        cat_rows, cat_cols = [], []
        for slot in range(main.shape[1]):
            has = cat_weight[np.arange(m), main[:, slot]] > 0
            for r in np.flatnonzero(has):
                picks = by_category[main[r, slot]]
                cat_rows.append(np.full(len(picks), r))
                cat_cols.append(picks)
        store_rows, store_cols = self._store_popular(customers)
        rows = np.concatenate([owner, near_rows, name_rows, np.repeat(np.arange(m), len(popular)),
                               store_rows] + cat_rows)
        cols = np.concatenate([own_cols, near_cols, name_cols, np.tile(popular, m), store_cols]
                              + cat_cols)
        key = distinct(rows.astype(np.int64) * n + cols)
        rows, cols = key // n, key % n
        # a product's columns come unsorted, and scipy then looks each candidate up by scanning
        # its whole row; sorted, by bisection (the foundation shop's 75,801 customers: a day's
        # candidates 48 -> 20 s)
        near.sort_indices()
        named.sort_indices()
        return rows, cols, np.asarray(near[rows, cols]).ravel(), np.asarray(named[rows, cols]).ravel()

    def _store_popular(self, customers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(block rows, columns): the STORE_CANDIDATES most ordered items of the last 30 days in
        each customer's store (fewer where the store ordered fewer)."""
        k = min(STORE_CANDIDATES, len(self.items))
        top = self.store_top[:, :k]
        ordered = np.take_along_axis(self.store_orders, top, axis=1) > 0
        store = self.store[customers]
        has = store >= 0
        rows = np.repeat(np.flatnonzero(has), k)
        cols = top[store[has]].ravel()
        keep = ordered[store[has]].ravel()
        return rows[keep], cols[keep]

    def features(self, customers: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                 near: np.ndarray, named: np.ndarray) -> np.ndarray:
        """(candidates, FEATURES) for the candidates (block rows, columns, neighbour and name
        scores) of ``customers``; NaN where a pair was never bought (LightGBM learns where
        missing goes)."""
        n, d = len(self.items), self.history.column
        c = customers[rows]
        key = c.astype(np.int64) * n + cols
        at, own = find_sorted(key, self.pair_keys)
        pair = np.where(own[:, None], self.pair[at], np.nan) if len(self.pair) \
            else np.full((len(key), 5), np.nan)
        gap = (pair[:, 3] - pair[:, 2]) / np.where(pair[:, 1] > 1, pair[:, 1] - 1, np.nan)
        since_last = d - pair[:, 3]
        cust = {k: v[c] for k, v in self.customer.items()}
        share = pair[:, 0] / np.maximum(cust["orders"], 1)
        # the customer's share of decayed orders in the item's category
        cat_key = c.astype(np.int64) * (self.category.max() + 1) + self.category[cols]
        decayed = np.where(own, pair[:, 4], 0)
        own_cat = _group_sums(cat_key, decayed)
        cust_total = _group_sums(c, decayed)
        near_rank = _rank_in_rows(rows, near)
        # one category (Online Retail has none): the input would only repeat the item's
        # popularity, and missing it leaves the trees as they were without it (decision 0059)
        if len(self.category_prior) > 1:
            expected = self.category_expected(c, cols)
            expected_rank = _rank_in_rows(rows, expected)
        else:
            expected = expected_rank = np.full(len(c), np.nan)
        name_rank = _rank_in_rows(rows, named)
        pop_rank = np.empty(n)
        pop_rank[self.popular] = np.arange(n)
        # the item in the customer's store: its rank and share of the last 30 days' orders there
        store = self.store[c]
        known = store >= 0
        in_store = np.full(len(c), np.nan)
        store_rank = np.full(len(c), np.nan)
        in_store[known] = self.store_orders[store[known], cols[known]]
        store_rank[known] = np.where(in_store[known] > 0,
                                     np.log1p(self.store_rank[store[known], cols[known]]), np.nan)
        store_total = self.store_orders.sum(axis=1)
        store_share = np.full(len(c), np.nan)
        store_share[known] = in_store[known] / np.maximum(store_total[store[known]], 1e-12)
        return _float32_columns([
            own, pair[:, 0], pair[:, 1], d - pair[:, 2], since_last, gap, since_last / gap,
            pair[:, 4], share, self.item[cols], np.log1p(cust["orders"]), cust["since_last"],
            np.log1p(cust["items"]), cust["repeat_share"], own_cat / np.maximum(cust_total, 1e-12),
            near, np.where(near > 0, near_rank, np.nan), np.log1p(pop_rank[cols]), store_rank,
            store_share, named, np.where(named > 0, name_rank, np.nan), expected, expected_rank])


# A day's lists rank every candidate of every customer (the demo shop: 130,000 rows a day), so
# the features avoid pandas' groupby (a third of their time) and a float64 copy of the table.
def _group_sums(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row, the sum of ``values`` over the rows with the same key."""
    _, group = np.unique(keys, return_inverse=True)
    return np.bincount(group, weights=values)[group]


def _rank_in_rows(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per candidate, 1 + how many candidates of the same row score higher or score the same
    and come first (``rows`` sorted; pandas' rank "first" of -values within each row)."""
    order = np.lexsort((-values, rows))          # stable: ties keep their order
    rank = np.empty(len(rows))
    rank[order] = position_in_runs(rows[order]) + 1
    return rank


def _float32_columns(columns: list[np.ndarray]) -> np.ndarray:
    """The columns (1-d, or 2-d blocks of columns) side by side as one float32 table."""
    blocks = [block if block.ndim == 2 else block[:, None] for block in map(np.asarray, columns)]
    table = np.empty((len(blocks[0]), sum(b.shape[1] for b in blocks)), np.float32)
    at = 0
    for block in blocks:
        table[:, at:at + block.shape[1]] = block
        at += block.shape[1]
    return table


def _neighbours(pair_cust: np.ndarray, pair_col: np.ndarray, n_customers: int, n: int
                ) -> sparse.csr_matrix:
    """Item x item cosine of their buyers, each row cut to its NEIGHBOURS_PER_ITEM largest."""
    x = sparse.csr_matrix((np.ones(len(pair_col)), (pair_cust, pair_col)), shape=(n_customers, n))
    co = _co_counts(x)
    co.setdiag(0)
    co.eliminate_zeros()
    norm = np.sqrt(np.maximum(np.asarray(x.sum(axis=0)).ravel(), 1.0))
    co = sparse.diags(1 / norm) @ co @ sparse.diags(1 / norm)
    rows, cols, values = _top_per_row(co.tocsr(), NEIGHBOURS_PER_ITEM)
    return sparse.csr_matrix((values, (rows, cols)), shape=(n, n))


NAME_BLOCK = 2048  # items whose similarities are held at once: the sparse shop's 20,082 items,
                  # whose names share colour words, make 81 million pairs in all


def _name_neighbours(names: np.ndarray) -> sparse.csr_matrix:
    """Item x item cosine of the words of their descriptions, TF-IDF weighted (a word that many
    items share says less than a design's name), each row cut to its NAME_NEIGHBOURS_PER_ITEM
    largest; a word of one item only links nothing."""
    n = len(names)
    words = word_ids(names)
    rows = np.repeat(np.arange(n), words.shape[1])
    kept = words.ravel() > 0
    x = sparse.csr_matrix((np.ones(kept.sum()), (rows[kept], words.ravel()[kept])),
                          shape=(n, VOCABULARY))
    x.data[:] = 1.0  # a word repeated in one name counts once
    df = np.bincount(x.indices, minlength=VOCABULARY)
    idf = np.where(df >= 2, np.log((1 + n) / (1 + df)) + 1, 0.0)  # scikit-learn's smooth idf
    x = (x @ sparse.diags(idf)).tocsr()
    norm = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    x = (sparse.diags(1 / np.maximum(norm, 1e-12)) @ x).tocsr()
    parts = []
    for start in range(0, n, NAME_BLOCK):
        block = (x[start:start + NAME_BLOCK] @ x.T).tocsr()
        owner = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
        block.data[block.indices == owner + start] = 0  # never an item's own neighbour
        r, c, v = _top_per_row(block, NAME_NEIGHBOURS_PER_ITEM)
        parts.append((r[v > 0] + start, c[v > 0], v[v > 0]))
    r, c, v = (np.concatenate(a) for a in zip(*parts)) if parts else (np.zeros(0, int),) * 3
    return sparse.csr_matrix((v, (r, c)), shape=(n, n))


DENSE_ITEMS = 8192      # at most an (n, n) float32 count matrix of 256 MB
DENSE_SHARE = 1 / 20    # a customer whose items fill more of the catalogue is counted densely
DENSE_BLOCK = 4096      # customers densified at a time


def _co_counts(x: sparse.csr_matrix) -> sparse.csr_matrix:
    """``x.T @ x`` of a 0/1 customer x item matrix: how many customers bought both items.

    A sparse product costs each customer the square of their item count, so customers who
    bought a large share of the catalogue go through a dense float32 product (BLAS, both cores)
    instead: on the foundation shop (75,801 customers, 2,963 items, 186 items a customer) 16.8 s
    sparse, 3.4 s split (decision 0032). The counts are integers below 2**24, exact in float32,
    so the result is the same matrix either way."""
    n = x.shape[1]
    per_customer = np.diff(x.indptr)
    heavy = per_customer > DENSE_SHARE * n
    if n > DENSE_ITEMS or not heavy.any():
        return (x.T @ x).tocsr()
    light = x[np.flatnonzero(~heavy)]
    dense = np.zeros((n, n), np.float32)
    heavy_rows = np.flatnonzero(heavy)
    for at in range(0, len(heavy_rows), DENSE_BLOCK):
        block = x[heavy_rows[at:at + DENSE_BLOCK]].toarray().astype(np.float32)
        dense += block.T @ block
    return (sparse.csr_matrix(dense, dtype=np.float64) + light.T @ light).tocsr()


def _top_per_row(m: sparse.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, columns, values) of each row's k largest stored entries (``m`` without duplicate
    entries, as products and scipy's constructors make them), ties in column order."""
    m = m.tocsr()
    lengths = np.diff(m.indptr)
    # only entries at or above their row's k-th largest value can be kept: sorting those alone
    # costs a few per row instead of a sort of every entry (8.7 million, 2.5 s, on the
    # foundation shop's co-occurrence); ties at that value stay and keep their column order
    # (sorted among the kept entries only: a product's columns come unsorted, and sorting all of
    # them cost 1.3 s of 4.2 for the names of 20,000 items)
    kth = np.full(m.shape[0], -np.inf)
    for r in np.flatnonzero(lengths > k):
        kth[r] = np.partition(m.data[m.indptr[r]:m.indptr[r + 1]], -k)[-k]
    rows = np.repeat(np.arange(m.shape[0]), lengths)
    at = np.flatnonzero(m.data >= kth[rows])
    rows = rows[at]
    order = np.lexsort((m.indices[at], -m.data[at], rows))
    rank = position_in_runs(rows[order])
    best = at[order[rank < k]]
    return rows[order[rank < k]], m.indices[best], m.data[best]


def _popular_by_category(category: np.ndarray, popular: np.ndarray, k: int) -> dict:
    ranked = category[popular]
    return {c: popular[ranked == c][:k] for c in np.unique(category)}


def training_set(history: ShopHistory, origins: int, customers_per_origin: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates labelled with what each customer bought in the 30 days after the origins
    D - 30, D - 60, ...: (features, labels, group sizes), one group per customer with a bought
    candidate (a group without one teaches a ranking nothing). With ``customers_per_origin``,
    a seeded sample of the customers scored at each origin; the signals (co-occurrence,
    popularity) still come from every customer's purchases, as when the lists are made."""
    from models.recommender.evaluate import sampled, scored_customers

    xs, ys, groups = [], [], []
    for k in range(1, origins + 1):
        origin = history.run_date - timedelta(days=WINDOW_DAYS * k)
        if origin <= history.purchases.start:
            break
        past, customers, relevant = scored_customers(history, origin)
        customers = sampled(customers, customers_per_origin)
        sig = Signals.of(past)
        for at in range(0, len(customers), CHUNK):
            chunk = customers[at:at + CHUNK]
            rows, cols, near, named = sig.candidates(chunk)
            ids = past.purchases.customer_ids[chunk][rows]
            item_ids = past.items.item_ids[sig.items[cols]]
            y = np.fromiter((i in relevant.get(c, ()) for c, i in zip(ids, item_ids)), bool, len(rows))
            sizes = np.bincount(rows, minlength=len(chunk))
            hit = np.bincount(rows, weights=y, minlength=len(chunk)) > 0
            keep = hit[rows]
            xs.append(sig.features(chunk, rows, cols, near, named)[keep])
            ys.append(y[keep])
            groups.append(sizes[hit])
    return np.vstack(xs), np.concatenate(ys), np.concatenate(groups)


PARAMS = {"objective": "lambdarank", "lambdarank_truncation_level": 30, "eval_at": [K],
          "learning_rate": 0.1, "num_leaves": 15, "min_data_in_leaf": 200,
          "feature_fraction": 0.9, "bagging_fraction": 0.8, "bagging_freq": 1, "seed": 0,
          "deterministic": True, "force_row_wise": True, "num_threads": 2, "verbose": -1}
ROUNDS = 100  # as good as 200 at half the rate on Online Retail, and half the time to rank
# six 30-day origins back from D: cold recall gains on both shops over four (five seeds each),
# warm holds, at about 1.5x the training time; 1, 2 or 8 origins, or newer ones weighted up,
# do worse (decision 0060)
TRAINING_ORIGINS = 6


def train(history: ShopHistory, origins: int = TRAINING_ORIGINS, params: dict | None = None,
          rounds: int = ROUNDS, customers_per_origin: int | None = None) -> str | None:
    """The ranker trained on the history up to D, as LightGBM's text model; None when no
    origin has a customer whose candidates hold what they bought (too little history)."""
    import lightgbm

    x, y, groups = training_set(history, origins, customers_per_origin)
    if not len(groups):
        return None
    data = lightgbm.Dataset(x, y.astype(np.float32), group=groups, feature_name=list(FEATURES),
                            free_raw_data=True)
    # leaves of at least 200 rows on a shop's data (measured best on Online Retail), fewer on a
    # small shop's, where 200 would leave the trees without a split
    leaf = {"min_data_in_leaf": int(np.clip(len(y) // 500, 5, PARAMS["min_data_in_leaf"]))}
    booster = lightgbm.train({**PARAMS, **leaf, **(params or {})}, data, num_boost_round=rounds)
    return booster.model_to_string()


@dataclass(frozen=True)
class TwoStage:
    """The two-stage recommender that was trained with a registered recommender model (its
    ``ranker``), as the pipeline serves it: the version names both."""
    trained: object  # models.recommender.train.TrainedRecommender, with a ranker

    @property
    def version(self) -> str:
        return f"{self.trained.version}{SUFFIX}"


SUFFIX = "+two-stage"


def recommend_days(model: str, history: ShopHistory, days: list[date]) -> list[Recommendations]:
    """``recommend(model, history.until(D))`` for each D of ``days``, with the ranker compiled:
    the served lists rank every customer every day."""
    return [recommend(model, history.until(d), compiled=True) for d in days]


def recommend(model: str, history: ShopHistory, customers: np.ndarray | None = None,
              k: int = K, compiled: bool = False) -> Recommendations:
    """Top-k sellable items per customer (default: every customer with an order up to D) from
    ``model`` (``train``'s text); ``history`` must end at D. ``compiled``: score with the
    ranker compiled to machine code (``trees.compiled``: the same lists, pays once its
    compilation on a machine, for a model that ranks many days)."""
    booster = (trees.compiled if compiled else trees.booster)(model, FEATURES, "the two-stage ranker")
    customers = history.customers() if customers is None else np.asarray(customers)
    sig = Signals.of(history)

    def ranked(chunk: np.ndarray):
        rows, cols, near, named = sig.candidates(chunk)
        score = booster.predict(sig.features(chunk, rows, cols, near, named),
                                num_threads=PARAMS["num_threads"])
        # candidates above every filler: the fill is below 1e-3
        return top_k_own_plus_shared(rows, cols, 1.0 + 1.0 / (1.0 + np.exp(-score)), sig.fill,
                                     len(chunk), k)

    return rank_chunks(history.purchases.customer_ids,
                       history.items.item_ids[sig.items], customers, CHUNK, ranked, k, ranked=True)
