"""What the recommender knows at the end of a run date D: customers' purchases and the items.

Purchases come from the marts (``marts.fct_customer_item_daily``: the distinct orders of a
customer containing an item on a day; ``marts.fct_customer_daily``: a customer's orders and store
per day), or from frames in tests. Items are the demand panel of the forecaster (sellable items,
categories, prices, descriptions, orders per day). ``ShopHistory.until(D)`` keeps only what was
known at D, the point-in-time cut every model and baseline works from.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import sparse

from domain.rules import COLD_CUSTOMER_MAX_ORDERS, COLD_ITEM_DAYS
from models.panel import DemandPanel, load_panel, panel_from_frames


@dataclass(frozen=True)
class Purchases:
    """Customer x item x day events, as parallel arrays over the customer and item ids."""
    start: date
    customer_ids: np.ndarray   # (C,) str
    item_ids: np.ndarray       # (I,) str
    customer: np.ndarray       # (E,) int64 index into customer_ids
    item: np.ndarray           # (E,) int64 index into item_ids
    day: np.ndarray            # (E,) int64 column: days since start
    orders: np.ndarray         # (E,) float32 distinct orders of the customer with the item that day
    order_customer: np.ndarray  # (O,) int64: a customer's orders per day ...
    order_day: np.ndarray       # (O,) int64
    order_count: np.ndarray     # (O,) float32
    order_store: np.ndarray     # (O,) str: the store (country) of that day's orders

    def until_column(self, column: int) -> Purchases:
        keep, keep_orders = self.day <= column, self.order_day <= column
        return replace(self, customer=self.customer[keep], item=self.item[keep],
                       day=self.day[keep], orders=self.orders[keep],
                       order_customer=self.order_customer[keep_orders],
                       order_day=self.order_day[keep_orders],
                       order_count=self.order_count[keep_orders],
                       order_store=self.order_store[keep_orders])

    def orders_per_customer(self) -> np.ndarray:
        return np.bincount(self.order_customer, weights=self.order_count,
                           minlength=len(self.customer_ids))

    def latest_store(self) -> np.ndarray:
        """Each customer's store on their latest order day ("" for customers without orders)."""
        store = np.full(len(self.customer_ids), "", dtype=object)
        order = np.lexsort((self.order_day, self.order_customer))
        store[self.order_customer[order]] = self.order_store[order]  # the last write wins
        return store


@dataclass(frozen=True)
class ShopHistory:
    """Purchases and items known at the end of ``run_date``."""
    run_date: date
    purchases: Purchases
    items: DemandPanel

    @property
    def column(self) -> int:
        return (self.run_date - self.purchases.start).days

    def checksum(self) -> str:
        """Fingerprint of the data up to D, the same however far the history was loaded (ids
        are hashed as strings: index arrays depend on which later customers the load saw)."""
        h = hashlib.sha256(self.items.checksum().encode())
        p = self.purchases
        store_codes, stores = pd.factorize(p.order_store, sort=True)
        for ids, codes in ((p.customer_ids, p.customer), (p.item_ids, p.item),
                           (p.customer_ids, p.order_customer), (np.asarray(stores), store_codes)):
            _hash_ids(h, ids, codes)
        for arr in (p.day, p.orders, p.order_day, p.order_count):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()

    def until(self, d: date) -> ShopHistory:
        if d > self.run_date:
            raise ValueError(f"{d} is after the history's end {self.run_date}")
        return ShopHistory(d, self.purchases.until_column((d - self.purchases.start).days),
                           self.items.until(d))

    def customers(self) -> np.ndarray:
        """Rows (into purchases.customer_ids) of customers with at least one order up to D."""
        return np.flatnonzero(self.purchases.orders_per_customer() > 0)

    def segments(self, rows: np.ndarray) -> np.ndarray:
        orders = self.purchases.orders_per_customer()[rows]
        return np.where(orders <= COLD_CUSTOMER_MAX_ORDERS, "cold", "warm")

    def sellable(self) -> np.ndarray:
        """Rows (into items) of the items sellable at D."""
        return np.flatnonzero(self.items.sellable(self.items.days - 1))

    def cold_items(self, rows: np.ndarray) -> np.ndarray:
        first = self.items.first_sale()[rows]
        return (first < 0) | (self.items.days - 1 - first < COLD_ITEM_DAYS)

    @cached_property
    def item_rows_of_purchases(self) -> np.ndarray:
        """For each purchases item index, its row in ``items`` (-1 if the panel lacks it: an
        item only ever given away at price 0 has no demand row)."""
        pos = {item: i for i, item in enumerate(self.items.item_ids)}
        return np.array([pos.get(i, -1) for i in self.purchases.item_ids], dtype=np.int64)

    def popularity(self, rows: np.ndarray, days: int = 30) -> np.ndarray:
        """Distinct orders of each item in the ``days`` up to D."""
        return self.items.orders[rows, -days:].sum(axis=1).astype(np.float64)

    def events(self, customers: np.ndarray, item_rows: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Purchase events up to D of the given customers and items: their positions in those
        arrays, and the event indices (into purchases' arrays)."""
        p = self.purchases
        col_of = np.full(len(self.items.item_ids), -1, np.int64)
        col_of[item_rows] = np.arange(len(item_rows))
        # only the given customers' events are read: a block of customers costs its own
        # events, not a pass over every purchase
        customers = np.asarray(customers)
        by_customer, sorted_customer = self._events_by_customer
        rows, at = ranges(np.searchsorted(sorted_customer, customers, side="left"),
                          np.searchsorted(sorted_customer, customers, side="right"))
        events = by_customer[at]
        item_rows_of_events = self.item_rows_of_purchases[p.item[events]]
        cols = np.where(item_rows_of_events >= 0, col_of[item_rows_of_events], -1)
        keep = np.flatnonzero(cols >= 0)
        order = keep[np.argsort(events[keep], kind="stable")]  # in the purchases' order
        return rows[order], cols[order], events[order]

    @cached_property
    def _events_by_customer(self) -> tuple[np.ndarray, np.ndarray]:
        """Event indices ordered by customer (stable), and their customers."""
        p = self.purchases
        order = np.argsort(p.customer, kind="stable")
        return order, p.customer[order]

    def matrix(self, customers: np.ndarray, item_rows: np.ndarray) -> sparse.csr_matrix:
        """Customers x items: the orders that held the item up to D."""
        rows, cols, at = self.events(customers, item_rows)
        return sparse.csr_matrix((self.purchases.orders[at].astype(np.float64), (rows, cols)),
                                 shape=(len(customers), len(item_rows)))

    def days_since_bought(self, customers: np.ndarray, item_rows: np.ndarray) -> np.ndarray:
        """Customers x items (dense): days from the latest purchase to D, inf if never."""
        rows, cols, at = self.events(customers, item_rows)
        last = np.full((len(customers), len(item_rows)), -np.inf)
        np.maximum.at(last, (rows, cols), self.purchases.day[at].astype(np.float64))
        return self.column - last


def ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every index of the ranges [lo, hi) laid end to end, with the range each belongs to."""
    counts = hi - lo
    owner = np.repeat(np.arange(len(lo)), counts)
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    return owner, np.arange(int(counts.sum())) + starts


def _hash_ids(h, ids: np.ndarray, codes: np.ndarray) -> None:
    """Hash the ids the rows name, as strings: which ids occur (sorted ids, so in their order)
    and each row's rank among them, the same whichever other ids the load saw, at the cost of
    one pass over the codes rather than a string per row."""
    present = np.zeros(len(ids), bool)
    present[codes] = True
    h.update("\x1f".join(np.asarray(ids)[present].astype(str)).encode())
    h.update((np.cumsum(present) - 1)[codes].astype(np.int64).tobytes())


def purchases_from_frames(lines: pd.DataFrame, orders: pd.DataFrame,
                          start: date | None = None) -> Purchases:
    """lines: (order_date, customer_id, item_id, orders); orders: (order_date, customer_id,
    orders[, store]) as in the marts. Vector operations throughout: a year of a large shop is
    tens of millions of lines."""
    if start is None:
        start = pd.to_datetime(orders["order_date"]).min().date()
    customer_ids = _sorted_ids(orders["customer_id"], lines["customer_id"])
    item_ids = _sorted_ids(lines["item_id"])
    customers, items = pd.Index(customer_ids), pd.Index(item_ids)
    line_customer = customers.get_indexer(lines["customer_id"]).astype(np.int64)
    line_item = items.get_indexer(lines["item_id"]).astype(np.int64)
    line_day = _days_since(lines["order_date"], start)
    order_customer = customers.get_indexer(orders["customer_id"]).astype(np.int64)
    order_day = _days_since(orders["order_date"], start)
    # a canonical order (ids are ranks of sorted ids, so this is the order of the ids): a
    # warehouse returns rows in whatever order its scan produced (a rerun that rewrote a day
    # reorders them), and the checksum of what a model saw must not depend on that
    by_line = np.lexsort((line_day, line_item, line_customer))
    by_order = np.lexsort((order_day, order_customer))
    store = orders["store"].fillna("") if "store" in orders else pd.Series("", index=orders.index)
    return Purchases(
        start=start, customer_ids=customer_ids, item_ids=item_ids,
        customer=line_customer[by_line], item=line_item[by_line], day=line_day[by_line],
        orders=lines["orders"].to_numpy(np.float32)[by_line],
        order_customer=order_customer[by_order], order_day=order_day[by_order],
        order_count=orders["orders"].to_numpy(np.float32)[by_order],
        order_store=store.to_numpy(object)[by_order])


def _sorted_ids(*columns: pd.Series) -> np.ndarray:
    return np.array(sorted(pd.unique(pd.concat(columns, ignore_index=True))), dtype=object)


def _days_since(dates: pd.Series, start: date) -> np.ndarray:
    days = pd.to_datetime(dates).to_numpy().astype("datetime64[D]")
    return (days - np.datetime64(start, "D")).astype(np.int64)


def history_from_frames(lines: pd.DataFrame, orders: pd.DataFrame, daily: pd.DataFrame,
                        catalogue: pd.DataFrame | None = None, end: date | None = None
                        ) -> ShopHistory:
    """A history from frames: purchases as in ``purchases_from_frames``, items as in
    ``panel_from_frames`` (both start on the first day of ``daily``)."""
    start = min(pd.to_datetime(daily["order_date"]).dt.date)
    end = end or max(pd.to_datetime(daily["order_date"]).dt.date)
    items = panel_from_frames(daily, catalogue, start=start, end=end)
    purchases = purchases_from_frames(lines, orders, start=start)
    return ShopHistory(end, purchases, items).until(end)


def load_history(con, end: date) -> ShopHistory:
    """Everything up to ``end`` from the warehouse (a read-only connection is enough)."""
    items = load_panel(con, end)
    lines = con.execute(
        "SELECT order_date, customer_id, item_id, orders FROM marts.fct_customer_item_daily "
        "WHERE order_date <= ? AND order_date >= ?", [end, items.start]).df()
    orders = con.execute(
        "SELECT order_date, customer_id, orders, store FROM marts.fct_customer_daily "
        "WHERE order_date <= ? AND order_date >= ?", [end, items.start]).df()
    if orders.empty:
        raise ValueError(f"no customer orders in the warehouse up to {end}")
    purchases = purchases_from_frames(lines, orders, start=items.start)
    return ShopHistory(end, purchases, items)


def window_purchases(full: ShopHistory, d: date, days: int) -> dict[str, set[str]]:
    """Distinct items each customer bought in D+1 .. D+days (the relevant sets)."""
    if d + timedelta(days=days) > full.run_date:
        raise ValueError(f"origin {d}: the history ends {full.run_date}, before D+{days}")
    p = full.purchases
    first, last = (d - p.start).days + 1, (d - p.start).days + days
    inside = (p.day >= first) & (p.day <= last)
    out: dict[str, set[str]] = {}
    for c, i in zip(p.customer_ids[p.customer[inside]], p.item_ids[p.item[inside]]):
        out.setdefault(c, set()).add(i)
    return out
