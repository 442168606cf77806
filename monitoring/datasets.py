"""What is monitored: each dataset is a query over a range of days, its columns declared as
numerical or categorical. Identifiers (customers, items, orders) are never columns: reports
carry distributions, not the rows of a person.

A window of run dates reads each dataset once, over every day its comparisons need, at most
``per_day`` rows of each day (the first rows by a hash of their values: the same rows at every
rerun, and a 1M-line day costs what a small one does); each run date's reference and current
windows are then cut from those rows (``DayRows.between``)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from datetime import date, timedelta

import numpy as np
import pandas as pd

from domain.rules import COLD_ITEM_DAYS


@dataclass(frozen=True)
class MonitoredData:
    name: str
    description: str
    sql: str            # the rows of days ? .. ? with a `day` column; {per_day} caps pre-aggregation.
                        # Aggregates are exact (counts) or rounded: a parallel sum's last bits
                        # change from run to run, and with them the hash that picks the rows
    numerical: tuple[str, ...]
    categorical: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.numerical + self.categorical


MONITORED = {d.name: d for d in (
    MonitoredData(
        "item_days", "what sold: one row per item and day with demand (marts.fct_item_daily_demand)",
        """SELECT order_date AS day, CAST(units AS DOUBLE) AS units, mean_price,
                  mean_price / nullif(reference_price, 0) AS price_ratio,
                  CAST(is_promo AS VARCHAR) AS is_promo, category
           FROM marts.fct_item_daily_demand
           WHERE order_date BETWEEN ? AND ? AND units > 0""",
        numerical=("units", "mean_price", "price_ratio"), categorical=("is_promo", "category")),
    MonitoredData(
        "active_customers", "who bought: one row per customer and day with an order "
        "(marts.fct_customer_daily; the customer's identifier is not read)",
        """SELECT order_date AS day, CAST(orders AS DOUBLE) AS orders, CAST(lines AS DOUBLE) AS lines,
                  CAST(units AS DOUBLE) AS units, revenue, store
           FROM marts.fct_customer_daily WHERE order_date BETWEEN ? AND ?""",
        numerical=("orders", "lines", "units", "revenue"), categorical=("store",)),
    MonitoredData(
        "raw_lines", "the batch as delivered: one row per order line kept by the raw gate (raw.order_lines)",
        """SELECT run_date AS day, CAST(quantity AS DOUBLE) AS quantity, unit_price,
                  coalesce(store, 'unknown') AS store, coalesce(category, 'unknown') AS category,
                  CAST(customer_id IS NOT NULL AS VARCHAR) AS has_customer
           FROM raw.order_lines WHERE run_date BETWEEN ? AND ?""",
        numerical=("quantity", "unit_price"), categorical=("store", "category", "has_customer")),
    MonitoredData(
        "forecasts", "what was forecast: one row per item and run date, its daily level and "
        "p10-p90 width over the 28 days ahead, and its category (predictions.forecasts)",
        """SELECT f.run_date AS day, round(avg(f.mean), 9) AS daily_mean,
                  round(avg(f.p90 - f.p10), 9) AS p10_p90_width,
                  CAST(f.history_days IS NULL AS VARCHAR) AS never_sold,
                  coalesce(any_value(i.category), 'unknown') AS category
           FROM predictions.forecasts f
           LEFT JOIN (SELECT item_id, arg_max(category, order_date) AS category
                      FROM marts.fct_item_daily_demand GROUP BY item_id) i USING (item_id)
           WHERE f.run_date BETWEEN ? AND ?
           GROUP BY f.run_date, f.item_id, f.history_days""",
        numerical=("daily_mean", "p10_p90_width"), categorical=("never_sold", "category")),
    MonitoredData(
        "recommendations", "what was recommended: one row per list (a sample of the day's "
        "customers): the share of its items the customer bought before, the share of cold items, "
        "its scores relative to its first, and the customer's segment (predictions.recommendations)",
        """WITH customers AS (
               SELECT run_date, customer_id FROM predictions.recommendations
               WHERE run_date BETWEEN ? AND ? AND rank = 1
               QUALIFY row_number() OVER (PARTITION BY run_date ORDER BY hash(customer_id, run_date))
                       <= {per_day}),
           lists AS (SELECT r.* FROM predictions.recommendations r JOIN customers USING (run_date, customer_id)),
           bought AS (  -- when each sampled customer first bought each item
               SELECT customer_id, item_id, min(order_date) AS first_bought
               FROM marts.fct_customer_item_daily
               WHERE customer_id IN (SELECT customer_id FROM customers) GROUP BY ALL),
           items AS (SELECT item_id, min(order_date) AS first_sale
                     FROM marts.fct_item_daily_demand GROUP BY item_id)
           SELECT l.run_date AS day,
                  count(*) FILTER (WHERE b.first_bought <= l.run_date) / count(*) AS own_item_share,
                  count(*) FILTER (WHERE i.first_sale IS NULL OR i.first_sale > l.run_date - {cold_days})
                      / count(*) AS cold_item_share,
                  round(avg(l.score) / nullif(max(l.score), 0), 9) AS score_vs_first,
                  any_value(l.segment) AS segment
           FROM lists l
           LEFT JOIN bought b USING (customer_id, item_id)
           LEFT JOIN items i USING (item_id)
           GROUP BY l.run_date, l.customer_id""".replace("{cold_days}", str(COLD_ITEM_DAYS)),
        numerical=("own_item_share", "cold_item_share", "score_vs_first"), categorical=("segment",)),
)}


def reference_window(run_date: date, days: int, gap_days: int) -> tuple[date, date]:
    """The ``days`` days ending ``gap_days`` before the run date (both ends included)."""
    last = run_date - timedelta(days=gap_days)
    return last - timedelta(days=days - 1), last


def spans(windows: list[tuple[date, date]]) -> list[tuple[date, date]]:
    """The days of several windows as ranges in order, overlapping and adjacent ones merged (a
    daily run reads its reference month and its week, not the gap between them)."""
    merged: list[tuple[date, date]] = []
    for first, last in sorted(windows):
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def current_window(run_date: date, days: int) -> tuple[date, date]:
    """The ``days`` days ending on the run date: a week holds every weekday once, as the
    reference's four weeks do."""
    return run_date - timedelta(days=days - 1), run_date


def sample_sql(data: MonitoredData, per_day: int) -> str:
    """The dataset's rows of days ? .. ?: per day the ``per_day`` rows with the smallest hash of
    their values, in that order. A day's rows are first thinned to about three times that by the
    same hash, so that ranking them costs what a small day costs."""
    per_day = int(per_day)
    columns = ", ".join(data.columns)
    return (f"WITH data AS ({data.sql.format(per_day=per_day)}), "
            f"sizes AS (SELECT day, count(*) AS n FROM data GROUP BY day) "
            f"SELECT day, {columns} FROM data JOIN sizes USING (day) "
            f"WHERE hash({columns}) <= 18446744073709551615 * least(1.0, 3.0 * {per_day} / n) "
            f"QUALIFY row_number() OVER (PARTITION BY day ORDER BY {_order(data)}) <= {per_day} "
            f"ORDER BY day, {_order(data)}")


def _order(data: MonitoredData) -> str:
    columns = ", ".join(data.columns)
    return f"hash({columns}), {columns}"


@dataclass(frozen=True)
class DayRows:
    """A dataset's rows of a range of days, at most ``per_day`` of each (``load``)."""
    data: MonitoredData
    rows: pd.DataFrame   # a `day` column, then the dataset's columns

    @classmethod
    def load(cls, con, data: MonitoredData, spans: list[tuple[date, date]], per_day: int) -> "DayRows":
        """The rows of the days in ``spans`` (ranges of days, in order, not overlapping)."""
        sql = sample_sql(data, per_day)
        return cls.of(data, [con.execute(sql, [first, last]).df() for first, last in spans])

    @classmethod
    def cached(cls, con, data: MonitoredData, ranges: list[tuple[date, date]], per_day: int,
               fresh: set[date]) -> "DayRows":
        """``load``'s rows, each day sampled once and kept in ``monitoring.sample_<dataset>``
        (a daily run samples its own day and reads the other 34 its windows need; the
        recommendations' sample of 35 days joins a month of lists, 1.3 s at 100k lines). A day is sampled again when it
        is in ``fresh`` (the run's own days: their data was just rewritten), when the ledger
        does not hold it as complete or skipped (a rerun of it has begun), or when the query
        or ``per_day`` changed. ``con`` writes; the same rows as ``load`` (tested)."""
        sql = sample_sql(data, per_day)
        fingerprint = hashlib.sha256(sql.encode()).hexdigest()[:16]
        table = f"monitoring.sample_{data.name}"
        needed = [first + timedelta(days=i) for first, last in ranges
                  for i in range((last - first).days + 1)]
        con.execute("BEGIN")
        if con.execute("SELECT count(*) FROM monitoring.sampled_days WHERE dataset = ? AND "
                       "fingerprint <> ?", [data.name, fingerprint]).fetchone()[0]:
            con.execute(f"DROP TABLE IF EXISTS {table}")
            con.execute("DELETE FROM monitoring.sampled_days WHERE dataset = ?", [data.name])
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM ({sql}) WHERE false",
                    [needed[0] if needed else date.min] * 2)
        settled = {row[0] for row in con.execute(
            "SELECT s.day FROM monitoring.sampled_days s JOIN ops.day_status l ON l.run_date = s.day "
            "WHERE s.dataset = ? AND l.status IN ('complete', 'skipped') AND list_contains(?, s.day)",
            [data.name, needed]).fetchall()}
        stale = [d for d in needed if d in fresh or d not in settled]
        for first, last in spans([(d, d) for d in stale]):
            con.execute(f"DELETE FROM {table} WHERE day BETWEEN ? AND ?", [first, last])
            con.execute(f"INSERT INTO {table} SELECT * FROM ({sql})", [first, last])
        if stale:
            con.executemany("INSERT OR REPLACE INTO monitoring.sampled_days VALUES (?, ?, ?)",
                            [(data.name, d, fingerprint) for d in stale])
        con.execute("COMMIT")
        return cls.of(data, [con.execute(
            f"SELECT * FROM {table} WHERE day BETWEEN ? AND ? ORDER BY day, {_order(data)}",
            [first, last]).df() for first, last in ranges])

    @classmethod
    def of(cls, data: MonitoredData, frames: list[pd.DataFrame]) -> "DayRows":
        rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["day", *data.columns])
        rows["day"] = pd.to_datetime(rows["day"]).dt.date
        return cls(data, rows)

    @cached_property
    def _ordinals(self) -> np.ndarray:
        return np.array([d.toordinal() for d in self.rows["day"]], dtype=np.int64)

    def between(self, first: date, last: date) -> pd.DataFrame:
        """The rows of days first..last, without the day (the rows are sorted by day: a slice)."""
        lo, hi = np.searchsorted(self._ordinals, [first.toordinal(), last.toordinal() + 1])
        return self.rows.iloc[lo:hi][list(self.data.columns)].reset_index(drop=True)
