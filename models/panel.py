"""The demand panel: daily units per item as dense arrays, cut at a run date (point in time).

Forecasting works on items x calendar days. The panel is read from the warehouse's marts
(``marts.fct_item_daily_demand``; days without a row are zero demand) plus the catalogue's
launched items, or built from a frame in tests. ``until(D)`` keeps only what was known on D.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from domain.rules import SELLABLE_WINDOW_DAYS

NEVER = -1  # first/last sale index of an item that has not sold


@dataclass(frozen=True)
class Descriptions:
    """Each item's category and description as they changed: one entry per item row and column
    where a value was first seen (column -1: the catalogue's listing, overridden by any day's),
    sorted by row and column, so that a panel cut at D names its items as they were known on D
    (a description reworded after D must not reach a model trained or predicting at D)."""
    rows: np.ndarray            # (m,) item row
    columns: np.ndarray         # (m,) the column the value was first seen on
    field: np.ndarray           # (m,) 0: category, 1: description
    values: np.ndarray          # (m,) str

    def until(self, cut: int, known: np.ndarray) -> tuple["Descriptions", np.ndarray, np.ndarray]:
        """The entries of the columns before ``cut`` for the ``known`` rows (renumbered), and the
        category and description each of those items had last."""
        renumber = np.cumsum(known) - 1
        keep = (self.columns < cut) & known[self.rows]
        kept = Descriptions(renumber[self.rows[keep]], self.columns[keep], self.field[keep],
                            self.values[keep])
        return (kept, *kept.latest(int(known.sum())))

    def latest(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(category, description) of ``n`` item rows: the last value of each ("unknown" and
        "" where none was seen)."""
        out = [np.full(n, "unknown", dtype=object), np.full(n, "", dtype=object)]
        for field in (0, 1):
            at = np.flatnonzero(self.field == field)  # sorted by row, then column
            last = at[np.r_[self.rows[at][1:] != self.rows[at][:-1], True]] if len(at) else at
            out[field][self.rows[last]] = self.values[last]
        return out[0], out[1]


@dataclass(frozen=True)
class DemandPanel:
    start: date                 # the date of column 0
    item_ids: np.ndarray        # (n,) str
    units: np.ndarray           # (n, T) float32, zero where nothing sold
    revenue: np.ndarray         # (n, T) float32
    category: np.ndarray        # (n,) str
    launch: np.ndarray          # (n,) int column of the catalogue launch, NEVER if not listed
    list_price: np.ndarray      # (n,) float32, NaN if not listed
    orders: np.ndarray          # (n, T) float32: distinct orders with the item (popularity)
    item_name: np.ndarray       # (n,) str: the latest description ("" if none)
    descriptions: Descriptions  # how categories and descriptions changed, for ``until``

    @property
    def days(self) -> int:
        return self.units.shape[1]

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.days - 1)

    def column(self, d: date) -> int:
        return (d - self.start).days

    def date_of(self, column: int) -> date:
        return self.start + timedelta(days=int(column))

    def first_sale(self) -> np.ndarray:
        sold = self.units > 0
        return np.where(sold.any(axis=1), sold.argmax(axis=1), NEVER)

    def last_sale(self) -> np.ndarray:
        sold = self.units[:, ::-1] > 0
        return np.where(sold.any(axis=1), self.days - 1 - sold.argmax(axis=1), NEVER)

    def until(self, d: date) -> "DemandPanel":
        """What was known at the end of D: days after D dropped, items unknown by D dropped."""
        if d < self.start:
            raise ValueError(f"{d} is before the panel's first day {self.start}")
        cut = self.column(d) + 1
        units = self.units[:, :cut]
        known = (units > 0).any(axis=1) | ((self.launch != NEVER) & (self.launch < cut))
        descriptions, category, item_name = self.descriptions.until(cut, known)
        return replace(self, item_ids=self.item_ids[known], units=units[known],
                       revenue=self.revenue[known, :cut], category=category,
                       launch=self.launch[known], list_price=self.list_price[known],
                       orders=self.orders[known, :cut], item_name=item_name,
                       descriptions=descriptions)

    def sellable(self, column: int) -> np.ndarray:
        """Items sellable at a column: sold in the 90 days up to it, or launched by it."""
        recent = self.units[:, max(0, column - SELLABLE_WINDOW_DAYS + 1): column + 1] > 0
        return recent.any(axis=1) | ((self.launch != NEVER) & (self.launch <= column))

    def checksum(self, through: date | None = None) -> str:
        """Fingerprint of the data a model saw up to ``through`` (default the panel's end): ids,
        units, revenue and catalogue."""
        if through is not None:
            return self.until(through).checksum()
        h = hashlib.sha256()
        h.update(self.start.isoformat().encode())
        for arr in (self.item_ids.astype(str), self.category.astype(str)):
            h.update("\x1f".join(arr).encode())
        for arr in (self.units, self.revenue, self.launch, self.list_price):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()


def panel_from_frames(daily: pd.DataFrame, catalogue: pd.DataFrame | None = None,
                      start: date | None = None, end: date | None = None) -> DemandPanel:
    """Build a panel from daily rows (item_id, order_date, units[, revenue, category, orders,
    item_name]) and an optional catalogue (item_id, launch_date, list_price[, category,
    item_name]). Vectorised: a year of a large shop is millions of item-days."""
    catalogue = catalogue if catalogue is not None else pd.DataFrame(
        columns=["item_id", "launch_date", "list_price", "category"])
    sold_on, launched_on = _days(daily["order_date"]), _days(catalogue["launch_date"])
    start = start or np.concatenate([sold_on, launched_on]).min().astype(date)
    end = end or sold_on.max().astype(date)
    first, last = np.datetime64(start, "D"), np.datetime64(end, "D")
    inside = (sold_on >= first) & (sold_on <= last)
    if not inside.all():
        daily, sold_on = daily[inside], sold_on[inside]
    catalogue, launched_on = catalogue[launched_on <= last], launched_on[launched_on <= last]
    ids = np.array(sorted(set(pd.unique(daily["item_id"])) | set(catalogue["item_id"])),
                   dtype=object)
    index = pd.Index(ids)
    n, days = len(ids), (end - start).days + 1
    rows = index.get_indexer(daily["item_id"])
    cols = (sold_on - first).astype(np.int64)
    cells = rows * days + cols

    def dense(values: np.ndarray) -> np.ndarray:
        # float32 values summed per (item, day) cell: the mart has one row per cell
        return np.bincount(cells, weights=values.astype(np.float32), minlength=n * days
                           ).reshape(n, days).astype(np.float32)

    units = daily["units"].to_numpy(np.float32)
    revenue = daily["revenue"].to_numpy(np.float32) if "revenue" in daily else np.zeros_like(units)
    # without order ids, a day with sales counts as one order
    orders = daily["orders"].to_numpy(np.float32) if "orders" in daily else (units > 0)
    units, revenue, orders = dense(units), dense(revenue), dense(orders)

    launch = np.full(n, NEVER, np.int64)
    list_price = np.full(n, np.nan, np.float32)
    # the categories and descriptions seen: the catalogue's listing, then each day's (the last
    # in input order among a day's rows), so that until(D) knows what each was on D
    seen = []
    if len(catalogue):
        at = index.get_indexer(catalogue["item_id"])
        launch[at] = np.maximum((launched_on - first).astype(np.int64), 0)
        list_price[at] = catalogue["list_price"].astype("float64").to_numpy()
        seen += [(at, np.full(len(at), -1), field, catalogue[column].to_numpy())
                 for field, column in enumerate(("category", "item_name")) if column in catalogue]
    seen += [(rows, cols, field, daily[column].to_numpy())
             for field, column in enumerate(("category", "item_name")) if column in daily]
    descriptions = _descriptions(seen)
    category, item_name = descriptions.latest(n)
    return DemandPanel(start, ids, units, revenue, category, launch, list_price, orders, item_name,
                       descriptions)


def _descriptions(seen: list[tuple]) -> Descriptions:
    """The entries where each item's category or description changed, from (rows, columns,
    field, values) of every listing and day (missing values skipped)."""
    if not seen:
        return Descriptions(*(np.zeros(0, np.int64),) * 3, np.zeros(0, dtype=object))
    rows = np.concatenate([np.asarray(r, np.int64) for r, _, _, _ in seen])
    columns = np.concatenate([np.asarray(c, np.int64) for _, c, _, _ in seen])
    field = np.concatenate([np.full(len(r), f, np.int64) for r, _, f, _ in seen])
    values = np.concatenate([np.asarray(v, dtype=object) for _, _, _, v in seen])
    codes, uniques = pd.factorize(values)  # missing values: -1
    present = codes >= 0
    rows, columns, field, codes = rows[present], columns[present], field[present], codes[present]
    # one key per (field, row, column); stable, so among a day's rows the last in input order
    # is the day's value
    days = columns.max() + 2 if len(columns) else 1
    series = field * (rows.max() + 1 if len(rows) else 1) + rows
    order = np.argsort(series * days + columns + 1, kind="stable")
    series, columns, codes = series[order], columns[order], codes[order]
    day = np.r_[(series[1:] != series[:-1]) | (columns[1:] != columns[:-1]), True]
    series, columns, codes = series[day], columns[day], codes[day]
    # then only the days whose value differs from the item's previous day's
    keep = np.r_[True, (series[1:] != series[:-1]) | (codes[1:] != codes[:-1])]
    n_rows = rows.max() + 1 if len(rows) else 1
    rows, field, columns, codes = series[keep] % n_rows, series[keep] // n_rows, columns[keep], codes[keep]
    order = np.lexsort((columns, rows))
    return Descriptions(rows[order], columns[order], field[order],
                        np.asarray(uniques, dtype=object)[codes[order]])


def _days(column: pd.Series) -> np.ndarray:
    """Dates (date objects, strings or timestamps) as numpy days."""
    # cache=False: the cache check alone iterates every value (0.15 s for a year of 3,300 items)
    return pd.to_datetime(column, cache=False).to_numpy().astype("datetime64[D]")


def load_panel(con, end: date, start: date | None = None) -> DemandPanel:
    """The panel up to ``end`` from the warehouse (a read-only connection is enough)."""
    daily = con.execute(
        "SELECT item_id, order_date, units, revenue, category, orders, item_name "
        "FROM marts.fct_item_daily_demand "
        "WHERE order_date <= ? AND order_date >= coalesce(?, DATE '1900-01-01')",
        [end, start]).df()
    catalogue = con.execute(
        "SELECT item_id, launch_date, list_price, category, item_name FROM staging.stg_catalogue "
        "WHERE launch_date <= ?", [end]).df()
    if daily.empty and catalogue.empty:
        raise ValueError(f"no item demand in the warehouse up to {end}")
    # the panel starts with the first day of demand data: listings before it add no history
    first = start or _days(daily["order_date"] if len(daily) else catalogue["launch_date"]
                           ).min().astype(date)
    # until(end) drops items with only returns: the panel (and its checksum) is what a model
    # trained up to ``end`` sees, whichever way it was loaded
    return panel_from_frames(daily, catalogue, start=first, end=end).until(end)
