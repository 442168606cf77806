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
        for ids in (p.customer_ids[p.customer], p.item_ids[p.item],
                    p.customer_ids[p.order_customer], p.order_store):
            h.update("\x1f".join(ids.astype(str)).encode())
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
        row_of = np.full(len(p.customer_ids), -1, np.int64)
        row_of[customers] = np.arange(len(customers))
        event_rows = self.item_rows_of_purchases[p.item]
        cols = np.where(event_rows >= 0, col_of[event_rows], -1)
        rows = row_of[p.customer]
        keep = np.flatnonzero((cols >= 0) & (rows >= 0))
        return rows[keep], cols[keep], keep

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

def purchases_from_frames(lines: pd.DataFrame, orders: pd.DataFrame,
                          start: date | None = None) -> Purchases:
    """lines: (order_date, customer_id, item_id, orders); orders: (order_date, customer_id,
    orders[, store]) as in the marts."""
    lines, orders = lines.copy(), orders.copy()
    for frame in (lines, orders):
        frame["order_date"] = pd.to_datetime(frame["order_date"]).dt.date
    # a canonical order: a warehouse returns rows in whatever order its scan produced (a
    # rerun that rewrote a day reorders them), and the checksum of what a model saw must not
    # depend on that
    lines = lines.sort_values(["customer_id", "item_id", "order_date"], kind="stable")
    orders = orders.sort_values(["customer_id", "order_date"], kind="stable")
    start = start or min(orders["order_date"])
    customer_ids = np.array(sorted(set(orders["customer_id"]) | set(lines["customer_id"])),
                            dtype=object)
    item_ids = np.array(sorted(set(lines["item_id"])), dtype=object)
    c_pos = {c: i for i, c in enumerate(customer_ids)}
    i_pos = {c: i for i, c in enumerate(item_ids)}

    def column(dates) -> np.ndarray:
        return np.array([(d - start).days for d in dates], dtype=np.int64)

    store = orders["store"].fillna("") if "store" in orders else pd.Series("", index=orders.index)
    return Purchases(
        start=start, customer_ids=customer_ids, item_ids=item_ids,
        customer=lines["customer_id"].map(c_pos).to_numpy(np.int64),
        item=lines["item_id"].map(i_pos).to_numpy(np.int64),
        day=column(lines["order_date"]), orders=lines["orders"].to_numpy(np.float32),
        order_customer=orders["customer_id"].map(c_pos).to_numpy(np.int64),
        order_day=column(orders["order_date"]),
        order_count=orders["orders"].to_numpy(np.float32),
        order_store=store.to_numpy(object))


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
