"""Inputs of the recommender, computed as of any cutoff day t from data up to t only.

Three kinds, each a small float vector:
- item at t: recent orders (7/30/90 days), history length, never sold / new flags, price; plus
  its identity (for items seen in training), description words (hashed ids) and category, which
  let a never-sold item be scored;
- customer at t: orders, tenure, recency, purchase lines, cold flag; store; and a profile: the
  recency-weighted mix of the items they bought (weights over items, for the network to pool);
- customer x item at t (the repeat signals): bought before, how often (and in what share of
  the customer's orders), how recently.

Everything is looked up by searchsorted on sorted event keys and cumulative sums, so a batch of
(customer, item, cutoff) triples costs a few vector operations whatever the cutoffs.
"""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from domain.rules import COLD_CUSTOMER_MAX_ORDERS, COLD_ITEM_DAYS
from models.content import word_ids
from models.recommender.data import ShopHistory, distinct, ranges, run_starts, run_sums, \
    sorted_order

RECENCY_DAYS = 60.0      # the decay of the repeat signal and of the profile weights
ITEM_FEATURES, CUSTOMER_FEATURES, PAIR_FEATURES = 8, 6, 6


def _rows_in(vocabulary: list[str], values: np.ndarray) -> np.ndarray:
    return pd.Index(vocabulary).get_indexer(pd.Index(values)).astype(np.int64) + 1


def _key(columns: tuple[np.ndarray, ...], sizes: tuple[int, ...]) -> np.ndarray:
    """The 64-bit sort key of integer columns, each after the first ranging over its size:
    ((c0 * s1 + c1) * s2 + c2) ..., built in place (no temporary per operation)."""
    key = columns[0].astype(np.int64)
    for column, size in zip(columns[1:], sizes):
        key *= size
        key += column
    return key


def _running_total(values: np.ndarray) -> np.ndarray:
    """0, then the cumulative sums of ``values`` in 64-bit floats (a range's sum by lookup)."""
    total = np.zeros(len(values) + 1)
    np.cumsum(values, dtype=np.float64, out=total[1:])
    return total


def _log(x) -> np.ndarray:
    return np.log1p(np.maximum(x, 0)).astype(np.float32)


class RecFeatures:
    """Feature lookups over a history (cutoffs up to its run date)."""

    def __init__(self, history: ShopHistory, categories: list[str], stores: list[str],
                 known_items: list[str]):
        self.history = history
        items, p = history.items, history.purchases
        if p.start != items.start:
            raise ValueError("purchases and items must start on the same day")
        self.days = items.days
        zero = np.zeros((len(items.item_ids), 1), np.float64)
        self.cum_orders = np.hstack([zero, np.cumsum(items.orders, axis=1, dtype=np.float64)])
        self.cum_units = np.hstack([zero, np.cumsum(items.units, axis=1, dtype=np.float64)])
        self.cum_revenue = np.hstack([zero, np.cumsum(items.revenue, axis=1, dtype=np.float64)])
        self.first_sale = items.first_sale()
        self.words = word_ids(items.item_name)
        # a stable key per item row (its id's hash), for draws that must not depend on row numbers
        self.item_key = np.array([zlib.crc32(str(i).encode()) for i in items.item_ids], np.uint64)
        # embedding rows: 1 + the position in the training vocabulary, 0 for a value it lacks
        self.item_index = _rows_in(known_items, items.item_ids)
        self.category = _rows_in(categories, items.category)
        self.store_of_order = _rows_in(stores, p.store_ids)[p.order_store]

        # purchase events with an item row, keyed (customer, item, day) and (customer, day);
        # a year of a large shop is tens of millions of events: copies and sorts only where
        # needed
        rows = history.item_rows_of_purchases[p.item]
        self.n_items, span = len(items.item_ids), self.days + 1
        # the event columns stay 32-bit (a year of a large shop is tens of millions of events,
        # and every array is memory the process must touch); only the keys are 64-bit
        c, i, d, n = p.customer, rows, p.day, p.orders
        if (rows < 0).any():
            keep = rows >= 0
            c, i, d, n = c[keep], i[keep], d[keep], n[keep]
        pair_key = _key((c, i, d), (self.n_items, span))
        if (pair_key[1:] >= pair_key[:-1]).all():  # as loaded: by (customer, item, day)
            self.pair_key, self.pair_day, self.pair_cum = pair_key, d, _running_total(n)
        else:
            order = np.argsort(pair_key, kind="stable")
            self.pair_key, self.pair_day = pair_key[order], d[order]
            self.pair_cum = _running_total(n[order])
        cust_key = _key((c, d), (span,))
        order = np.argsort(cust_key, kind="stable")
        self.ev_key, self.ev_item, self.ev_day = cust_key[order], i[order], d[order]
        self.ev_orders = n[order]
        del order, cust_key
        okey = _key((p.order_customer, p.order_day), (span,))
        order = sorted_order(okey)  # as loaded: by (customer, day)
        self.order_key, self.order_day = okey[order], p.order_day[order]
        self.order_cum = _running_total(p.order_count[order])
        self.order_store = self.store_of_order[order]
        self.span = span

    # -- items -------------------------------------------------------------------------------
    def items(self, rows: np.ndarray, t: np.ndarray) -> np.ndarray:
        """(n, ITEM_FEATURES) for item rows at cutoffs t (arrays of the same length)."""
        rows, t = np.asarray(rows), np.broadcast_to(np.asarray(t), np.shape(rows))

        def window(cum, days):
            return cum[rows, t + 1] - cum[rows, np.maximum(t + 1 - days, 0)]

        first = self.first_sale[rows]
        sold = (first >= 0) & (first <= t)
        age = np.where(sold, t - first, 0)
        units90, revenue90 = window(self.cum_units, 90), window(self.cum_revenue, 90)
        price = np.where(units90 > 0, revenue90 / np.maximum(units90, 1), 0.0)
        return np.stack([
            _log(window(self.cum_orders, 7)), _log(window(self.cum_orders, 30)),
            _log(window(self.cum_orders, 90)), _log(age) / 6, (~sold).astype(np.float32),
            (sold & (age < COLD_ITEM_DAYS)).astype(np.float32), _log(price),
            (price > 0).astype(np.float32)], axis=1).astype(np.float32)

    # -- customers ---------------------------------------------------------------------------
    def _order_range(self, customers, t):
        lo = np.searchsorted(self.order_key, customers * self.span, side="left")
        hi = np.searchsorted(self.order_key, customers * self.span + t, side="right")
        return lo, hi

    def customers(self, customers: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, CUSTOMER_FEATURES) and the store ids of customers at cutoffs t; a customer with
        no order up to t (a brand-new one) gets zeros and store 0."""
        customers = np.asarray(customers)
        t = np.broadcast_to(np.asarray(t), customers.shape)
        lo, hi = self._order_range(customers, t)
        has = hi > lo
        orders = self.order_cum[hi] - self.order_cum[lo]
        first = np.where(has, self.order_day[np.minimum(lo, len(self.order_day) - 1)], t)
        last = np.where(has, self.order_day[np.maximum(hi - 1, 0)], t)
        e_lo = np.searchsorted(self.ev_key, customers * self.span, side="left")
        e_hi = np.searchsorted(self.ev_key, customers * self.span + t, side="right")
        x = np.stack([
            _log(orders), _log(t - first + 1) / 6, _log(t - last) / 6, _log(e_hi - e_lo) / 5,
            (has & (orders <= COLD_CUSTOMER_MAX_ORDERS)).astype(np.float32),
            (~has).astype(np.float32)], axis=1).astype(np.float32)
        store = np.where(has, self.order_store[np.maximum(hi - 1, 0)], 0)
        return x, store

    def last_order_day(self, customers: np.ndarray, t: np.ndarray) -> np.ndarray:
        """The latest day up to t with an order of each customer (-1 if none)."""
        lo, hi = self._order_range(np.asarray(customers), t)
        return np.where(hi > lo, self.order_day[np.maximum(hi - 1, 0)], -1)

    def bought_in(self, customers: np.ndarray, after: np.ndarray, until: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        """The distinct item rows each customer bought in days (after, until], as (position in
        ``customers``, item row) pairs sorted by both; one vector pass for any number of
        customers. Short windows sort their own events; long ones read the customers' events
        ordered by (customer, item, day), which give each pair once, at its first day inside
        the window, without a sort."""
        customers = np.asarray(customers)
        after = np.broadcast_to(np.asarray(after), customers.shape)
        until = np.broadcast_to(np.asarray(until), customers.shape)
        # the events inside the windows (ordered by customer and day), or every event of the
        # customers (ordered by customer, item and day), whichever is fewer: the same pairs
        base = customers * self.span
        w_lo = np.searchsorted(self.ev_key, base + after, side="right")
        w_hi = np.maximum(np.searchsorted(self.ev_key, base + until, side="right"), w_lo)
        per_customer = self.n_items * self.span
        lo = np.searchsorted(self.pair_key, customers * per_customer, side="left")
        hi = np.searchsorted(self.pair_key, (customers + 1) * per_customer, side="left")
        if (w_hi - w_lo).sum() * 8 < (hi - lo).sum():  # a sort costs about a log factor more
            owner, at = ranges(w_lo, w_hi)
            key = distinct(owner * self.n_items + self.ev_item[at])
            return key // self.n_items, key % self.n_items
        owner, at = ranges(lo, hi)
        day = self.pair_day[at]
        inside = (day > after[owner]) & (day <= until[owner])
        # days ascend within a pair: an event is the pair's first inside the window when the
        # event before it belongs to another pair or falls before the window
        before = np.maximum(at - 1, 0)
        pair = self.pair_key[at] // self.span
        first = inside & ((at == 0) | (self.pair_key[before] // self.span != pair)
                          | (self.pair_day[before] <= after[owner]))
        return owner[first], pair[first] % self.n_items

    def profile(self, customers: np.ndarray, t: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sparse (row, item, weight) triples: each customer's purchases up to t weighted by
        orders x exp(-age / 60), normalised to sum 1 per customer (none for a new customer);
        one triple per customer and item, items ascending within a row, rows and items 64-bit,
        as a CSR matrix's entries must be (CUDA's sparse product fails on repeated or unsorted
        columns, or on column indices of another type than the row starts)."""
        customers = np.asarray(customers)
        t = np.broadcast_to(np.asarray(t), customers.shape)
        # the customers' events by (customer, item, day): an item's events lie side by side,
        # so they add up without a sort
        per_customer = self.n_items * self.span
        lo = np.searchsorted(self.pair_key, customers * per_customer, side="left")
        hi = np.searchsorted(self.pair_key, (customers + 1) * per_customer, side="left")
        rows, at = ranges(lo, hi)
        known = self.pair_day[at] <= t[rows]
        rows, at = rows[known], at[known]
        orders = self.pair_cum[at + 1] - self.pair_cum[at]
        w = orders * np.exp(-(t[rows] - self.pair_day[at]) / RECENCY_DAYS)
        totals = np.bincount(rows, weights=w, minlength=len(customers))
        item = self.pair_key[at] // self.span % self.n_items
        entry = rows * self.n_items + item  # by row, then item: a run per entry
        first = run_starts(entry)
        weight = run_sums(w / np.maximum(totals[rows], 1e-12), first)
        return rows[first], item[first], weight.astype(np.float32)

    # -- customer x item ---------------------------------------------------------------------
    def pairs(self, customers: np.ndarray, rows: np.ndarray, t: np.ndarray) -> np.ndarray:
        """(n, PAIR_FEATURES) repeat signals of (customer, item) at cutoffs t."""
        customers, rows = np.asarray(customers), np.asarray(rows)
        t = np.broadcast_to(np.asarray(t), customers.shape)
        base = (customers * self.n_items + rows) * self.span
        lo = np.searchsorted(self.pair_key, base, side="left")
        hi = np.searchsorted(self.pair_key, base + t, side="right")
        bought = hi > lo
        orders = self.pair_cum[hi] - self.pair_cum[lo]
        o_lo, o_hi = self._order_range(customers, t)
        share = orders / np.maximum(self.order_cum[o_hi] - self.order_cum[o_lo], 1.0)
        since = np.where(bought, t - self.pair_day[np.maximum(hi - 1, 0)], 0)
        decay = np.where(bought, np.exp(-since / RECENCY_DAYS), 0.0)
        return np.stack([bought.astype(np.float32), _log(orders), decay.astype(np.float32),
                         np.where(bought, _log(since) / 6, 0).astype(np.float32),
                         _log(orders * decay), share.astype(np.float32)], axis=1).astype(np.float32)
