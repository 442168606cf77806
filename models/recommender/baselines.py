"""The simple recommenders a learned one must beat (docs/evaluation.md), scored over the whole
sellable catalogue at D from ``ShopHistory`` up to D only.

Each baseline maps (history, customer rows) to a customers x sellable-items score matrix;
``recommend`` turns any such scorer into top-20 lists. Where a customer's own signal runs out,
lists are filled by recent popularity (a tiny tie-breaking term, so it never outranks a
customer's own items).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse

from models.recommender.data import ShopHistory, run_starts, run_sums, sorted_order
from models.recommender.metrics import K, Recommendations, rank_chunks, top_k_own_plus_shared

# a baseline prepares what it needs of the history once, then scores blocks of customers
ScoreBlock = Callable[[np.ndarray], np.ndarray]
Scorer = Callable[[ShopHistory, np.ndarray], ScoreBlock]
REORDER_HALF_LIFE_DAYS = 60.0
EASE_LAMBDA = 200.0
CHUNK = 1024  # customers scored at once: bounds the dense score block's memory
# customers ranked at once without a dense block (their own items and a few shared columns
# each): a block's arrays are as wide as its customer with the most own items, so a large block
# pays for its widest row in every row (a year of the foundation shop's 75,801 lists, one thread:
# 3.22 s in blocks of 16,384, 1.49 s in blocks of 2,048; docs/decisions/0031)
SPARSE_CHUNK = 2048


def fill_scores(history: ShopHistory, items: np.ndarray) -> np.ndarray:
    """Recent popularity scaled into [0, 1e-3): breaks ties, fills short lists."""
    pop = history.popularity(items)
    return 1e-3 * pop / (pop.max() + 1.0)


def popularity(history: ShopHistory, items: np.ndarray) -> ScoreBlock:
    """Distinct orders in the last 30 days: the same list for everyone."""
    pop = history.popularity(items)
    return lambda customers: np.broadcast_to(pop, (len(customers), len(items))).copy()


def own_frequency(history: ShopHistory, items: np.ndarray) -> ScoreBlock:
    """The customer's past items by how many orders held them, then popularity."""
    fill = fill_scores(history, items)
    return lambda customers: history.matrix(customers, items).toarray() + fill


def reorder_scores(history: ShopHistory, customers: np.ndarray, items: np.ndarray
                   ) -> np.ndarray:
    """Orders that held the item x exp(-days since the latest of them / 60): 0 if never bought."""
    rows, cols, score = own_scores(history, customers, items, recency=True)
    dense = np.zeros((len(customers), len(items)))
    dense[rows, cols] = score
    return dense


def own_scores(history: ShopHistory, customers: np.ndarray, items: np.ndarray, recency: bool
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nonzero entries of ``reorder_scores`` (``recency``) or of the order counts, as
    (row, column, score) sorted by row and column: a customer owns a few of thousands of items."""
    rows, cols, at = history.events(customers, items)
    key = rows * len(items) + cols
    order = sorted_order(key)
    key, at = key[order], at[order]
    starts = run_starts(key)
    score = run_sums(history.purchases.orders[at].astype(np.float64), starts)
    if recency and len(key):
        last = np.maximum.reduceat(history.purchases.day[at].astype(np.float64), starts)
        score = score * np.exp(-(history.column - last) / REORDER_HALF_LIFE_DAYS)
    return key[starts] // len(items), key[starts] % len(items), score


def recency_reorders(history: ShopHistory, items: np.ndarray) -> ScoreBlock:
    """Past items by order count x exp(-age / 60 days), ties and fill by recent popularity:
    the baseline to beat (wholesale customers reorder, recently bought items most)."""
    fill = fill_scores(history, items)
    return lambda customers: reorder_scores(history, customers, items) + fill


def _binary(history: ShopHistory, customers: np.ndarray, items: np.ndarray) -> sparse.csr_matrix:
    x = history.matrix(customers, items)
    x.data[:] = 1.0
    return x


def cooccurrence(history: ShopHistory, items: np.ndarray) -> ScoreBlock:
    """Items bought by the same customers as the customer's recent items (cosine-normalised
    co-occurrence over all customers up to D), then popularity. Own items keep their weight:
    customers reorder."""
    x = _binary(history, history.customers(), items)
    norm = np.sqrt(np.maximum(np.asarray(x.sum(axis=0)).ravel(), 1.0))
    co = (x.T @ x).toarray() / norm[:, None] / norm[None, :]
    np.fill_diagonal(co, 1.0)
    fill = fill_scores(history, items)
    return lambda customers: reorder_scores(history, customers, items) @ co + fill


def ease(history: ShopHistory, items: np.ndarray, lam: float = EASE_LAMBDA) -> ScoreBlock:
    """EASE (Steck 2019) on the binary customer x item matrix up to D, lambda = 200."""
    x = _binary(history, history.customers(), items)
    p = np.linalg.inv((x.T @ x).toarray() + lam * np.eye(len(items)))
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    fill = fill_scores(history, items)
    return lambda customers: np.asarray(_binary(history, customers, items) @ b) + fill


BASELINES: dict[str, Scorer] = {
    "popularity": popularity,
    "own-frequency": own_frequency,
    "recency-reorders": recency_reorders,
    "cooccurrence": cooccurrence,
    "ease": ease,
}
FALLBACK = "recency-reorders"  # published before a learned model has enough history
# scorers that are sparse own scores plus fill_scores, ranked without a dense block (the
# fallback is published for every customer of a new shop): whether the own part decays
OWN_PLUS_FILL: dict[Scorer, bool] = {recency_reorders: True, own_frequency: False}


def recommend(history: ShopHistory, scorer: Scorer, customers: np.ndarray | None = None,
              k: int = K) -> Recommendations:
    """Top-k sellable items for each customer (default: every customer with an order up to D)."""
    customers = history.customers() if customers is None else np.asarray(customers)
    items = history.sellable()
    if scorer in OWN_PLUS_FILL:  # a customer's own items plus the shared fill: no dense block
        fill, recency = fill_scores(history, items), OWN_PLUS_FILL[scorer]

        def ranked(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return top_k_own_plus_shared(*own_scores(history, chunk, items, recency), fill,
                                         len(chunk), k)

        return rank_chunks(history.purchases.customer_ids, history.items.item_ids[items],
                           customers, SPARSE_CHUNK, ranked, k, ranked=True)
    return rank_chunks(history.purchases.customer_ids, history.items.item_ids[items],
                       customers, CHUNK, scorer(history, items), k)
