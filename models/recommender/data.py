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

import duckdb
import numpy as np
import pandas as pd
from scipy import sparse

from domain.rules import COLD_CUSTOMER_MAX_ORDERS, COLD_ITEM_DAYS
from models.panel import DemandPanel, load_panel, panel_from_frames


@dataclass(frozen=True)
class Purchases:
    """Customer x item x day events, as parallel arrays over the customer and item ids."""
    start: date
    # Events and order rows are held for the whole history (a month of a 1M-line shop is
    # over 20 million events): 32-bit codes and days, 16 bytes an event rather than 28. Cast
    # to int64 before multiplying codes into keys (customer x items overflows 32 bits).
    customer_ids: np.ndarray   # (C,) str
    item_ids: np.ndarray       # (I,) str
    customer: np.ndarray       # (E,) int32 index into customer_ids, sorted (as loaded)
    item: np.ndarray           # (E,) int32 index into item_ids
    day: np.ndarray            # (E,) int32 column: days since start
    orders: np.ndarray         # (E,) float32 distinct orders of the customer with the item that day
    order_customer: np.ndarray  # (O,) int32: a customer's orders per day ...
    order_day: np.ndarray       # (O,) int32
    order_count: np.ndarray     # (O,) float32
    order_store: np.ndarray     # (O,) int32 index into store_ids: the store (country) of
                                # that day's orders
    store_ids: np.ndarray       # (S,) str, sorted ("" for orders without a store)
    # (days, 4) uint64 per day column: lines, a hash of them, order rows, a hash of them
    # (wrapped sums of one hash per row of ids as strings and values, computed where the rows
    # are read): the fingerprint of any prefix of days costs nothing
    day_fingerprints: np.ndarray

    def until_column(self, column: int) -> Purchases:
        return self.take(self.day <= column, self.order_day <= column,
                         self.day_fingerprints[:column + 1])

    def take(self, events: np.ndarray, orders: np.ndarray,
             day_fingerprints: np.ndarray | None = None) -> Purchases:
        """The events and order rows selected (a mask or sorted indices), ids unchanged."""
        return replace(self, customer=self.customer[events], item=self.item[events],
                       day=self.day[events], orders=self.orders[events],
                       order_customer=self.order_customer[orders],
                       order_day=self.order_day[orders],
                       order_count=self.order_count[orders],
                       order_store=self.order_store[orders],
                       day_fingerprints=self.day_fingerprints if day_fingerprints is None
                       else day_fingerprints)

    def orders_per_customer(self, through: int | None = None) -> np.ndarray:
        """Orders of each customer up to day column ``through`` (default: all loaded)."""
        keep = slice(None) if through is None else self.order_day <= through
        return np.bincount(self.order_customer[keep], weights=self.order_count[keep],
                           minlength=len(self.customer_ids))

    def latest_store(self) -> np.ndarray:
        """Each customer's store on their latest order day ("" for customers without orders)."""
        code = self.latest_store_code()
        store = np.full(len(code), "", dtype=object)
        store[code >= 0] = self.store_ids[code[code >= 0]]
        return store

    def latest_store_code(self) -> np.ndarray:
        """Each customer's store on their latest order day, as a row of ``store_ids`` (-1 for
        customers without orders)."""
        code = np.full(len(self.customer_ids), -1, dtype=np.int64)
        order = np.lexsort((self.order_day, self.order_customer))
        # the last write wins
        code[self.order_customer[order]] = self.order_store[order]
        return code

    def stores(self) -> list[str]:
        """The stores of the orders kept (up to D after ``until``), without the empty one."""
        seen = np.bincount(self.order_store, minlength=len(self.store_ids)) > 0
        return [str(s) for s in self.store_ids[seen] if s != ""]


@dataclass(frozen=True)
class ShopHistory:
    """Purchases and items known at the end of ``run_date``."""
    run_date: date
    purchases: Purchases
    items: DemandPanel

    @property
    def column(self) -> int:
        return (self.run_date - self.purchases.start).days

    def checksum(self, through: date | None = None) -> str:
        """Fingerprint of the data up to ``through`` (default D), the same however far the
        history was loaded and whatever order its rows came in (the per-day fingerprints of
        the purchases: a daily run checks a year of a large shop's rows in no time)."""
        through = self.run_date if through is None else through
        if through > self.run_date:
            raise ValueError(f"{through} is after the history's end {self.run_date}")
        column = (through - self.purchases.start).days
        h = hashlib.sha256(self.items.until(through).checksum().encode())
        h.update(np.ascontiguousarray(self.purchases.day_fingerprints[:column + 1]).tobytes())
        return h.hexdigest()

    def until(self, d: date) -> ShopHistory:
        if d > self.run_date:
            raise ValueError(f"{d} is after the history's end {self.run_date}")
        if d == self.run_date:
            return self
        return ShopHistory(d, self.purchases.until_column((d - self.purchases.start).days),
                           self.items.until(d))

    def of_customers(self, rows: np.ndarray) -> ShopHistory:
        """The same history with only these customers' purchases (rows into customer_ids): what
        scoring their own lists needs, at the cost of their events rather than the shop's (a
        monitoring sample of 5,000 customers out of 75,000). Ids and items stay the shop's;
        what is computed across customers (co-occurrence, the checksum) is not."""
        rows = distinct(np.asarray(rows, dtype=np.int64))
        _, events = self._events_of(rows)
        p = self.purchases
        return replace(self, purchases=p.take(np.sort(events),
                                              in_sorted(p.order_customer, rows)))

    def customers(self, through: int | None = None) -> np.ndarray:
        """Rows (into purchases.customer_ids) of customers with at least one order up to D
        (or up to day column ``through``)."""
        return np.flatnonzero(self.purchases.orders_per_customer(through) > 0)

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
        item only ever given away at price 0 has no demand row). 32-bit, as the event columns
        it maps."""
        pos = {item: i for i, item in enumerate(self.items.item_ids)}
        return np.array([pos.get(i, -1) for i in self.purchases.item_ids], dtype=np.int32)

    def popularity(self, rows: np.ndarray, days: int = 30) -> np.ndarray:
        """Distinct orders of each item in the ``days`` up to D."""
        return self.items.orders[rows, -days:].sum(axis=1).astype(np.float64)

    def events(self, customers: np.ndarray, item_rows: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Purchase events up to D of the given customers and items: their positions in those
        arrays, and the event indices (into purchases' arrays)."""
        col_of = np.full(len(self.items.item_ids) + 1, -1, np.int64)  # the last: no row
        col_of[item_rows] = np.arange(len(item_rows))
        col_of_code = col_of[self.item_rows_of_purchases]  # per item code: one lookup an event
        # only the given customers' events are read: a block of customers costs its own
        # events, not a pass over every purchase
        rows, events = self._events_of(np.asarray(customers))
        cols = col_of_code[self.purchases.item[events]]
        keep = np.flatnonzero(cols >= 0)
        order = keep[sorted_order(events[keep])]  # in the purchases' order
        return rows[order], cols[order], events[order]

    def _events_of(self, customers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The event indices of these customers (rows into customer_ids), each customer's in
        the purchases' order, with the position in ``customers`` each belongs to."""
        by_customer, sorted_customer = self._events_by_customer
        # searched in the events' own 32-bit type: 64-bit customers would have numpy convert
        # the whole history's column at every call
        customers = customers.astype(sorted_customer.dtype, copy=False)
        owner, at = ranges(np.searchsorted(sorted_customer, customers, side="left"),
                           np.searchsorted(sorted_customer, customers, side="right"))
        return owner, by_customer[at]

    @cached_property
    def _events_by_customer(self) -> tuple[np.ndarray, np.ndarray]:
        """Event indices ordered by customer (stable), and their customers. Events as loaded
        (and any cut or selection of them) are already in customer order: then the order is the
        identity and nothing is copied (two arrays of the whole history otherwise)."""
        p = self.purchases
        if (p.customer[1:] >= p.customer[:-1]).all():
            return _Identity(len(p.customer)), p.customer
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


class _Identity:
    """The order 0, 1, ..., n - 1 without its n integers: ``order[at]`` is ``at``."""

    def __init__(self, n: int):
        self.n = n

    def __getitem__(self, at: np.ndarray) -> np.ndarray:
        return np.asarray(at, dtype=np.int64)


def ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every index of the ranges [lo, hi) laid end to end, with the range each belongs to."""
    counts = hi - lo
    owner = np.repeat(np.arange(len(lo)), counts)
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    return owner, np.arange(int(counts.sum())) + starts


def sorted_order(values: np.ndarray) -> np.ndarray | slice:
    """``np.argsort(values, kind="stable")``, as an index; without the sort (and its copy) where
    the values are in order already, as events are for customers in order."""
    if len(values) < 2 or (values[1:] >= values[:-1]).all():
        return slice(None)
    return np.argsort(values, kind="stable")


def run_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Where each run of equal keys starts in ``sorted_keys``."""
    if not len(sorted_keys):
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])


def run_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The sum of ``values`` over each run that begins at ``starts`` (``run_starts``' output)
    and ends where the next begins; empty for no runs (``np.add.reduceat`` fails on those)."""
    return np.add.reduceat(values, starts) if len(starts) else np.zeros(0, np.result_type(values))


def position_in_runs(sorted_keys: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal keys of ``sorted_keys``."""
    starts = run_starts(sorted_keys)
    return np.arange(len(sorted_keys)) - np.repeat(starts, np.diff(np.r_[starts, len(sorted_keys)]))


def distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` by a sort. NumPy 2.4 finds plain unique values with a hash table,
    which is about 100x slower than sorting on hundreds of thousands of distinct integers
    (700,000 keys: 0.47 s against 0.005 s; a day's two-stage lists spent 8.6 s in it)."""
    values = np.sort(values, axis=None)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """``np.isin`` for keys already sorted: a binary search per value, no hash table of the
    keys (blocks of customers test hundreds of thousands of keys)."""
    return find_sorted(values, sorted_keys)[1]


def find_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, found) of each value in ``sorted_keys`` (sorted, distinct): the row is clipped to a
    valid one, so it indexes the arrays beside the keys wherever ``found`` holds."""
    if not len(sorted_keys):
        return np.zeros(np.shape(values), np.int64), np.zeros(np.shape(values), bool)
    at = np.minimum(np.searchsorted(sorted_keys, values), len(sorted_keys) - 1)
    return at, sorted_keys[at] == values


def purchases_from_frames(lines: pd.DataFrame, orders: pd.DataFrame,
                          start: date | None = None) -> Purchases:
    """lines: (order_date, customer_id, item_id, orders); orders: (order_date, customer_id,
    orders[, store]) as in the marts. Encoded by the same SQL as a warehouse load, on an
    in-memory DuckDB."""
    if start is None:
        start = pd.to_datetime(orders["order_date"]).min().date()
    if "store" not in orders:
        orders = orders.assign(store="")
    dates = pd.to_datetime(pd.concat([lines["order_date"], orders["order_date"]]))
    if len(dates) and dates.min().date() < start:
        raise ValueError(f"purchases dated {dates.min().date()}, before the history's start {start}")
    days = (dates.max().date() - start).days + 1 if len(dates) else 1
    con = duckdb.connect()
    try:
        con.register("frame_lines", lines[["order_date", "customer_id", "item_id", "orders"]])
        con.register("frame_orders", orders[["order_date", "customer_id", "orders", "store"]])
        return _encode_purchases(con, "SELECT * FROM frame_lines", "SELECT * FROM frame_orders",
                                 [], start, days)
    finally:
        con.close()


def _encode_purchases(con, lines_sql: str, orders_sql: str, params: list, start: date,
                      days: int) -> Purchases:
    """Purchases from two queries (their ``?`` take ``params``), encoded in DuckDB: ids become
    ranks of the sorted ids and dates days since start, and the rows come back as numeric
    columns in a canonical order (customer, item, day), whatever order the scan produced (a
    rerun that rewrote a day reorders it; the checksum of what a model saw must not depend on
    that). A year of a large shop is tens of millions of lines: no Python object per row.
    The rows are dated from ``start`` to ``days`` - 1 days after it."""
    day0 = f"DATE '{start.isoformat()}'"

    def ids(view: str, column: str, *queries: str) -> np.ndarray:
        """The distinct ids of the queries, sorted; kept in the temporary table ``view`` with
        their rank (code) for the joins below."""
        union = " UNION ".join(f"SELECT {column} FROM ({q})" for q in queries)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {view} AS SELECT {column}, "
                    f"CAST(row_number() OVER (ORDER BY {column}) - 1 AS INTEGER) AS code "
                    f"FROM (SELECT DISTINCT {column} FROM ({union}))", params * len(queries))
        found = con.execute(f"SELECT {column} FROM {view} ORDER BY code").fetchnumpy()[column]
        return np.asarray(found, dtype=object)

    # temporary tables: a read-only connection will do
    views = ("customer_codes", "item_codes", "store_codes")
    try:
        customer_ids = ids(views[0], "customer_id", orders_sql, lines_sql)
        item_ids = ids(views[1], "item_id", lines_sql)
        store_ids = ids(views[2], "store",
                        f"SELECT coalesce(store, '') AS store FROM ({orders_sql})")
        # the canonical order is sorted on one packed 64-bit key rather than on four columns:
        # DuckDB's sort holds its keys for every row (a month of a 1M-line shop, 22 million
        # events: 610 MB at the load's peak instead of 790 MB, and faster)
        event_sizes = {"customer": len(customer_ids), "item": len(item_ids), "day": days}
        events = _fetch_arrays(con, f"""
            SELECT {_packed_key(event_sizes, ("c.code", "i.code", "l.day"))} AS key,
                   CAST(l.orders AS FLOAT) AS orders
            FROM (SELECT *, CAST(CAST(order_date AS DATE) - {day0} AS INTEGER) AS day
                  FROM ({lines_sql})) AS l
            JOIN customer_codes AS c USING (customer_id)
            JOIN item_codes AS i USING (item_id)
            ORDER BY key, orders""", params, lines_sql, event_sizes, {"orders": np.float32})
        order_sizes = {"customer": len(customer_ids), "day": days}
        days = _fetch_arrays(con, f"""
            SELECT {_packed_key(order_sizes, ("c.code", "o.day"))} AS key,
                   CAST(o.orders AS FLOAT) AS orders, s.code AS store
            FROM (SELECT *, CAST(CAST(order_date AS DATE) - {day0} AS INTEGER) AS day
                  FROM ({orders_sql})) AS o
            JOIN customer_codes AS c USING (customer_id)
            JOIN store_codes AS s ON s.store = coalesce(o.store, '')
            ORDER BY key, orders, store""", params, orders_sql, order_sizes,
                            {"orders": np.float32, "store": np.int32})
        fingerprints = [con.execute(f"""
            SELECT CAST(CAST(order_date AS DATE) - {day0} AS BIGINT) AS day, count(*) AS n,
                   CAST(sum(hash({columns})) % 18446744073709551616 AS UBIGINT) AS h
            FROM ({sql}) GROUP BY 1""", params).fetchnumpy() for sql, columns in (
            (lines_sql, "CAST(customer_id AS VARCHAR), CAST(item_id AS VARCHAR), "
                        "CAST(orders AS FLOAT)"),
            (orders_sql, "CAST(customer_id AS VARCHAR), CAST(orders AS FLOAT), "
                         "coalesce(CAST(store AS VARCHAR), '')"))]
    finally:
        for view in views:
            con.execute(f"DROP TABLE IF EXISTS {view}")
    return Purchases(
        start=start, customer_ids=customer_ids, item_ids=item_ids,
        customer=events["customer"], item=events["item"], day=events["day"],
        orders=events["orders"], order_customer=days["customer"], order_day=days["day"],
        order_count=days["orders"], order_store=days["store"], store_ids=store_ids,
        day_fingerprints=_by_day(fingerprints))


FETCH_ROWS = 1 << 20


def _packed_key(sizes: dict[str, int], expressions: tuple[str, ...]) -> str:
    """SQL of one BIGINT of integer columns, each after the first ranging over its size:
    ((c0 * s1 + c1) * s2 + c2) ..., in the order of ``sizes`` (``_fetch_arrays`` unpacks it)."""
    if np.prod([float(n) for n in sizes.values()]) >= 2.0 ** 63:
        raise ValueError(f"{sizes}: too many values to sort on one 64-bit key")
    key = f"CAST({expressions[0]} AS BIGINT)"
    for expression, size in zip(expressions[1:], list(sizes.values())[1:]):
        key = f"({key} * {size} + {expression})"
    return key


def _fetch_arrays(con, sql: str, params: list, rows_sql: str, key: dict[str, int],
                  columns: dict) -> dict[str, np.ndarray]:
    """The columns of ``sql``, its packed ``key`` column unpacked into 32-bit columns named as
    in ``key`` (name -> size, ``_packed_key``) and the other ``columns`` in the given types,
    streamed a million rows at a time into arrays sized by ``rows_sql``'s count (at least as
    many rows): DuckDB's whole result and numpy's copy of it are never held together
    (``fetchnumpy`` holds both: a month of a 1M-line shop is 22 million events)."""
    n = con.execute(f"SELECT count(*) FROM ({rows_sql})", params).fetchone()[0]
    out = {name: np.empty(n, np.int32) for name in key} | {
        name: np.empty(n, dtype) for name, dtype in columns.items()}
    names, sizes = list(key), list(key.values())
    at = 0
    for batch in con.execute(sql, params).to_arrow_reader(FETCH_ROWS):
        end = at + batch.num_rows
        packed = batch.column("key").to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        for name, size in zip(names[:0:-1], sizes[:0:-1]):
            packed, out[name][at:end] = np.divmod(packed, size)
        out[names[0]][at:end] = packed
        for name in columns:
            out[name][at:end] = batch.column(name).to_numpy(zero_copy_only=False)
        at = end
    return {name: values[:at] for name, values in out.items()}


def _by_day(fingerprints: list[dict]) -> np.ndarray:
    """(days, 2 x len(fingerprints)) uint64: rows and hash per day column, 0 on a day without."""
    span = 1 + max((int(f["day"].max()) for f in fingerprints if len(f["day"])), default=-1)
    out = np.zeros((span, 2 * len(fingerprints)), np.uint64)
    for at, f in enumerate(fingerprints):
        day = _numbers(f["day"], np.int64)
        out[day, 2 * at] = _numbers(f["n"], np.uint64)
        out[day, 2 * at + 1] = _numbers(f["h"], np.uint64)
    return out


def _numbers(column, dtype) -> np.ndarray:
    return np.ascontiguousarray(np.ma.getdata(column), dtype=dtype)


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
    window = "WHERE order_date <= ? AND order_date >= ?"
    if not con.execute(f"SELECT count(*) FROM marts.fct_customer_daily {window}",
                       [end, items.start]).fetchone()[0]:
        raise ValueError(f"no customer orders in the warehouse up to {end}")
    purchases = _encode_purchases(
        con,
        f"SELECT order_date, customer_id, item_id, orders FROM marts.fct_customer_item_daily {window}",
        f"SELECT order_date, customer_id, orders, store FROM marts.fct_customer_daily {window}",
        [end, items.start], items.start, (end - items.start).days + 1)
    return ShopHistory(end, purchases, items)


def window_buyers(full: ShopHistory, d: date, days: int) -> np.ndarray:
    """Rows (into purchases.customer_ids) of the customers who bought in D+1 .. D+days, sorted.
    Read from the order rows, the same customer-days as the purchase events (both are the
    purchase lines grouped; tested) and a fraction of their number."""
    first, last = _window_columns(full, d, days)
    p = full.purchases
    inside = (p.order_day >= first) & (p.order_day <= last)
    return np.flatnonzero(np.bincount(p.order_customer[inside], minlength=len(p.customer_ids)))


def _window_columns(full: ShopHistory, d: date, days: int) -> tuple[int, int]:
    if d + timedelta(days=days) > full.run_date:
        raise ValueError(f"origin {d}: the history ends {full.run_date}, before D+{days}")
    return (d - full.purchases.start).days + 1, (d - full.purchases.start).days + days


def _inside(full: ShopHistory, d: date, days: int) -> np.ndarray:
    first, last = _window_columns(full, d, days)
    return (full.purchases.day >= first) & (full.purchases.day <= last)


def window_purchases(full: ShopHistory, d: date, days: int, customers: np.ndarray | None = None
                     ) -> dict[str, set[str]]:
    """Distinct items each customer (of ``customers``, rows, when given) bought in
    D+1 .. D+days (the relevant sets)."""
    p = full.purchases
    inside = np.flatnonzero(_inside(full, d, days))
    if customers is not None:  # the window's events only: a month, not the whole history
        inside = inside[np.isin(p.customer[inside], customers)]
    return sets_by_key(p.customer[inside], p.item[inside], p.customer_ids, p.item_ids)


def sets_by_key(keys: np.ndarray, values: np.ndarray, key_names: np.ndarray,
                value_names: np.ndarray) -> dict[str, set[str]]:
    """{key_names[k]: {value_names[v], ...}} from parallel integer arrays of (key, value)
    pairs: the distinct pairs sorted by key, then one set per key, no loop per pair (keys
    without a pair are absent)."""
    n = len(value_names)
    pairs = distinct(np.asarray(keys, np.int64) * n + np.asarray(values, np.int64))
    k, v = pairs // n, pairs % n
    starts = run_starts(k)
    return {key_names[k[s]]: set(value_names[chunk]) for s, chunk in zip(starts, np.split(v, starts[1:]))}
