"""What is monitored: each dataset is a query over a range of days, its columns declared as
numerical or categorical. Identifiers (customers, items, orders) are never columns: reports
carry distributions, not the rows of a person."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

SAMPLE_SEED = 20251201


@dataclass(frozen=True)
class MonitoredData:
    name: str
    description: str
    sql: str                          # the rows of days ? .. ? (a `day` column first)
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
                  coalesce(store, 'unknown') AS store,
                  CAST(customer_id IS NOT NULL AS VARCHAR) AS has_customer
           FROM raw.order_lines WHERE run_date BETWEEN ? AND ?""",
        numerical=("quantity", "unit_price"), categorical=("store", "has_customer")),
    MonitoredData(
        "forecasts", "what was forecast: one row per item and run date, over the 28 days ahead "
        "(predictions.forecasts)",
        """SELECT run_date AS day, avg(mean) AS daily_mean, avg(p90 - p10) AS p10_p90_width,
                  CAST(history_days IS NULL AS VARCHAR) AS never_sold
           FROM predictions.forecasts WHERE run_date BETWEEN ? AND ?
           GROUP BY run_date, item_id, history_days""",
        numerical=("daily_mean", "p10_p90_width"), categorical=("never_sold",)),
    MonitoredData(
        "recommendations", "what was recommended: one row per list entry (predictions.recommendations)",
        """SELECT run_date AS day, score, segment
           FROM predictions.recommendations WHERE run_date BETWEEN ? AND ?""",
        numerical=("score",), categorical=("segment",)),
)}


def reference_window(run_date: date, days: int, gap_days: int) -> tuple[date, date]:
    """The ``days`` days ending ``gap_days`` before the run date (both ends included)."""
    last = run_date - timedelta(days=gap_days)
    return last - timedelta(days=days - 1), last


def sample(con, data: MonitoredData, first: date, last: date, rows: int) -> pd.DataFrame:
    """The dataset's rows of days first..last, at most ``rows`` of them (a seeded reservoir
    sample: the statistics then cost the same on a 1M-line day as on a small one)."""
    return con.execute(
        f"SELECT * EXCLUDE (day) FROM ({data.sql}) "
        f"USING SAMPLE reservoir({int(rows)} ROWS) REPEATABLE ({SAMPLE_SEED})",
        [first, last]).df()
