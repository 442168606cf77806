"""What the features and predictions gates validate, read from the warehouse: one row per run
date of counts that must be zero (or positive), and the rows themselves. The gate (checks/gate.py)
turns them into verdicts; the pipeline decides what a failed verdict stops."""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from domain.rules import HORIZON_DAYS, LIST_LENGTH, SELLABLE_WINDOW_DAYS

# The items sellable at each run date of a ``days(run_date)`` CTE (docs/evaluation.md: sold in
# the ``$window`` days up to D, or a launched catalogue item), as a CTE named ``sellable``.
SELLABLE_BY_DAY_CTE = """sellable AS (
    SELECT DISTINCT days.run_date, f.item_id FROM days JOIN marts.fct_item_daily_demand f
      ON f.order_date > days.run_date - $window AND f.order_date <= days.run_date AND f.units > 0
    UNION
    SELECT days.run_date, c.item_id FROM days JOIN staging.stg_catalogue c
      ON c.launch_date <= days.run_date)"""


FEATURE_DAY_SQL = """
WITH days AS (SELECT CAST(d AS DATE) AS run_date
              FROM range(CAST($start AS DATE), CAST($end AS DATE) + 1, INTERVAL 1 DAY) t(d)),
counts AS (SELECT * FROM marts.daily_line_counts WHERE order_date BETWEEN $start AND $end),
facts AS (SELECT order_date, sum(units) AS units, count(*) FILTER (WHERE item_id IS NULL) AS null_keys,
                 count(*) FILTER (WHERE units < 0) AS negative
          FROM marts.fct_item_daily_demand WHERE order_date BETWEEN $start AND $end GROUP BY 1),
pairs AS (SELECT order_date, count(*) FILTER (WHERE customer_id IS NULL OR item_id IS NULL) AS null_keys
          FROM marts.fct_customer_item_daily WHERE order_date BETWEEN $start AND $end GROUP BY 1)
SELECT
    days.run_date,
    (SELECT count(*) FROM counts c WHERE c.order_date = days.run_date) AS day_rows,
    coalesce(counts.lines, 0) - coalesce(v.delivered - v.quarantined, 0) AS lines_minus_raw,
    coalesce(counts.demand_units, 0) - coalesce(facts.units, 0) AS demand_units_minus_facts,
    coalesce(facts.null_keys, 0) + coalesce(pairs.null_keys, 0) AS fact_rows_with_null_keys,
    coalesce(facts.negative, 0) AS fact_rows_with_negative_units,
    CASE WHEN days.run_date = $end THEN (
        SELECT count(*) FROM (
            SELECT item_id FROM marts.fct_item_daily_demand WHERE order_date = $end AND units > 0
            EXCEPT SELECT item_id FROM marts.item_features WHERE as_of_date = $end)) END
        AS items_sold_without_features,
    CASE WHEN days.run_date = $end THEN (
        SELECT count(*) FROM (
            SELECT customer_id FROM marts.fct_customer_daily WHERE order_date = $end
            EXCEPT SELECT customer_id FROM marts.customer_features WHERE as_of_date = $end)) END
        AS customers_without_features
FROM days
LEFT JOIN counts ON counts.order_date = days.run_date
LEFT JOIN ops.day_volumes v ON v.run_date = days.run_date
LEFT JOIN facts ON facts.order_date = days.run_date
LEFT JOIN pairs ON pairs.order_date = days.run_date
ORDER BY days.run_date
"""



FORECAST_DAY_SQL = """
WITH days AS (SELECT CAST(d AS DATE) AS run_date
              FROM range(CAST($start AS DATE), CAST($end AS DATE) + 1, INTERVAL 1 DAY) t(d)),
{sellable},
stored AS (
    SELECT run_date, item_id, count(DISTINCT target_date) AS targets
    FROM predictions.forecasts WHERE run_date BETWEEN $start AND $end GROUP BY ALL),
joined AS (
    SELECT coalesce(s.run_date, p.run_date) AS run_date, s.item_id AS sellable_item,
           p.item_id AS stored_item, p.targets
    FROM sellable s FULL JOIN stored p ON s.run_date = p.run_date AND s.item_id = p.item_id)
SELECT days.run_date,
       count(*) FILTER (WHERE sellable_item IS NOT NULL AND stored_item IS NULL) AS sellable_items_missing,
       count(*) FILTER (WHERE sellable_item IS NULL AND stored_item IS NOT NULL) AS items_not_sellable,
       count(*) FILTER (WHERE stored_item IS NOT NULL AND targets <> $horizon) AS items_without_full_horizon,
       count(stored_item) AS forecast_items
FROM days LEFT JOIN joined USING (run_date)
GROUP BY days.run_date ORDER BY days.run_date
""".replace("{sellable}", SELLABLE_BY_DAY_CTE)


RECOMMENDATION_DAY_SQL = """
WITH days AS (SELECT CAST(d AS DATE) AS run_date
              FROM range(CAST($start AS DATE), CAST($end AS DATE) + 1, INTERVAL 1 DAY) t(d)),
{sellable},
sellable_counts AS (SELECT run_date, count(*) AS sellable_items FROM sellable GROUP BY ALL),
first_orders AS (SELECT customer_id, min(order_date) AS first_order
                 FROM marts.fct_customer_daily WHERE order_date <= $end GROUP BY ALL),
customers AS (SELECT days.run_date, f.customer_id FROM days JOIN first_orders f
                ON f.first_order <= days.run_date),
lists AS (
    SELECT r.run_date, r.customer_id, count(*) AS slots, count(DISTINCT r.item_id) AS items,
           count(*) FILTER (WHERE s.item_id IS NULL) AS not_sellable,
           max(r.rank) = count(*) AND min(r.rank) = 1 AS ranks_consecutive
    FROM predictions.recommendations r
    LEFT JOIN sellable s ON s.run_date = r.run_date AND s.item_id = r.item_id
    WHERE r.run_date BETWEEN $start AND $end GROUP BY ALL),
joined AS (
    SELECT coalesce(c.run_date, l.run_date) AS run_date, c.customer_id AS customer,
           l.customer_id AS listed, l.slots, l.items, l.not_sellable, l.ranks_consecutive
    FROM customers c FULL JOIN lists l ON c.run_date = l.run_date AND c.customer_id = l.customer_id)
SELECT days.run_date,
       count(*) FILTER (WHERE customer IS NOT NULL AND listed IS NULL
                        AND coalesce(sc.sellable_items, 0) > 0) AS customers_without_list,
       count(*) FILTER (WHERE customer IS NULL AND listed IS NOT NULL) AS lists_for_unknown_customers,
       count(*) FILTER (WHERE items < slots) AS lists_with_repeated_items,
       count(*) FILTER (WHERE not_sellable > 0) AS lists_with_items_not_sellable,
       count(*) FILTER (WHERE slots < least($per_customer, coalesce(sc.sellable_items, 0)))
           AS short_lists,
       count(*) FILTER (WHERE NOT ranks_consecutive) AS lists_with_gaps_in_ranks,
       count(listed) AS lists
FROM days LEFT JOIN sellable_counts sc USING (run_date) LEFT JOIN joined USING (run_date)
GROUP BY days.run_date, sc.sellable_items ORDER BY days.run_date
""".replace("{sellable}", SELLABLE_BY_DAY_CTE)


def _dates(frame: pd.DataFrame) -> pd.DataFrame:
    frame["run_date"] = pd.to_datetime(frame["run_date"]).dt.date
    return frame


def feature_frames(con: duckdb.DuckDBPyConnection, start: date, end: date) -> dict[str, pd.DataFrame]:
    """What each features suite validates for a dbt window start..end (as-of features of end)."""
    per_day = _dates(con.execute(FEATURE_DAY_SQL, {"start": start, "end": end}).df())
    for column in per_day.columns.drop("run_date"):  # nullable ints -> floats with NaN
        per_day[column] = pd.to_numeric(per_day[column], errors="coerce").astype("float64")
    items = con.execute(
        "SELECT item_id, category, segment, history_days, units_28d, mean_price_90d "
        "FROM marts.item_features WHERE as_of_date = ?", [end]).df()
    customers = con.execute(
        "SELECT customer_id, segment, frequency, recency_days, tenure_days, monetary "
        "FROM marts.customer_features WHERE as_of_date = ?", [end]).df()
    return {"features_day": per_day, "item_features": items.assign(run_date=end),
            "customer_features": customers.assign(run_date=end)}


def prediction_frames(con: duckdb.DuckDBPyConnection, start: date, end: date) -> dict[str, pd.DataFrame]:
    """What each predictions suite validates for the run dates start..end."""
    frames = {
        "forecasts_day": con.execute(FORECAST_DAY_SQL, {
            "start": start, "end": end, "horizon": HORIZON_DAYS,
            "window": SELLABLE_WINDOW_DAYS}).df(),
        "forecasts": con.execute(
            "SELECT run_date, item_id, target_date, mean, p10, p50, p90, model_version, "
            "target_date - run_date AS days_ahead FROM predictions.forecasts "
            "WHERE run_date BETWEEN ? AND ?", [start, end]).df(),
        "recommendations_day": con.execute(RECOMMENDATION_DAY_SQL, {
            "start": start, "end": end, "per_customer": LIST_LENGTH,
            "window": SELLABLE_WINDOW_DAYS}).df(),
        "recommendations": con.execute(
            "SELECT run_date, customer_id, rank, item_id, score, model_version, segment "
            "FROM predictions.recommendations WHERE run_date BETWEEN ? AND ?", [start, end]).df(),
    }
    return {name: _dates(frame) for name, frame in frames.items()}
