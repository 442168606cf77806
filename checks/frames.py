"""What the features and predictions gates validate, read from the warehouse: one row per run
date of counts that must be zero (or positive), and the rows themselves. The gate (checks/gate.py)
turns them into verdicts; the pipeline decides what a failed verdict stops."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from checks.config import PredictionThresholds
from domain.rules import HORIZON_DAYS, LIST_LENGTH, SELLABLE_WINDOW_DAYS

# Every run date from $start to $end, as a CTE named ``days``.
DAYS_CTE = """days AS (SELECT CAST(d AS DATE) AS run_date
              FROM range(CAST($start AS DATE), CAST($end AS DATE) + 1, INTERVAL 1 DAY) t(d))"""

# The items sellable at each run date of a ``days(run_date)`` CTE (docs/evaluation.md: sold in
# the ``$window`` days up to D, or a launched catalogue item), as a CTE named ``sellable``.
SELLABLE_BY_DAY_CTE = """sellable AS (
    SELECT DISTINCT days.run_date, f.item_id FROM days JOIN marts.fct_item_daily_demand f
      ON f.order_date > days.run_date - $window AND f.order_date <= days.run_date AND f.units > 0
    UNION
    SELECT days.run_date, c.item_id FROM days JOIN staging.stg_catalogue c
      ON c.launch_date <= days.run_date)"""


FEATURE_DAY_SQL = """
WITH {days},
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
""".replace("{days}", DAYS_CTE)

FORECAST_DAY_SQL = """
WITH {days},
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
""".replace("{days}", DAYS_CTE).replace("{sellable}", SELLABLE_BY_DAY_CTE)


RECOMMENDATION_DAY_SQL = """
WITH {days},
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
""".replace("{days}", DAYS_CTE).replace("{sellable}", SELLABLE_BY_DAY_CTE)


@dataclass(frozen=True)
class RowRules:
    """Row-level rules of a stored table, counted per run date inside DuckDB: a predicate
    counts the rows it holds for and names one of them (the smallest ``key``, in the column
    ``<rule>__example``); an aggregate is any count over a day's rows. Every count must be 0;
    the gate's suite is built from the same names. Counting in SQL reads millions of rows in a
    second or two where a pandas frame of them took most of the gate's time."""
    table: str
    key: str
    predicates: dict[str, str]
    aggregates: dict[str, str]

    @property
    def names(self) -> list[str]:
        return [*self.predicates, *self.aggregates]

    def sql(self) -> str:
        counts = [f"count(*) FILTER (WHERE {p}) AS {n}, min({self.key}) FILTER (WHERE {p}) "
                  f"AS {n}__example" for n, p in self.predicates.items()]
        counts += [f"{expression} AS {n}" for n, expression in self.aggregates.items()]
        columns = [f"coalesce({n}, 0) AS {n}" for n in self.names]
        columns += [f"{n}__example" for n in self.predicates]
        return (f"WITH {DAYS_CTE}, per_day AS (SELECT run_date, {', '.join(counts)} "
                f"FROM {self.table} WHERE run_date BETWEEN $start AND $end GROUP BY run_date) "
                f"SELECT days.run_date, {', '.join(columns)} "
                "FROM days LEFT JOIN per_day USING (run_date) ORDER BY days.run_date")


QUANTITIES = ("mean", "p10", "p50", "p90")
FORECAST_ROWS = RowRules(
    table="predictions.forecasts", key="item_id",
    predicates={
        "rows_with_null_keys": "item_id IS NULL OR target_date IS NULL OR model_version IS NULL",
        **{f"{q}_missing": f"{q} IS NULL OR isnan({q})" for q in QUANTITIES},
        **{f"{q}_out_of_range": f"NOT isnan({q}) AND NOT {q} BETWEEN 0 AND $max_daily_units"
           for q in QUANTITIES},
        "p10_above_p50": "p10 > p50",
        "p50_above_p90": "p50 > p90",
        "target_outside_horizon": "NOT target_date - run_date BETWEEN 1 AND $horizon",
    },
    aggregates={"repeated_item_targets": "count(*) - count(DISTINCT (item_id, target_date))"})
RECOMMENDATION_ROWS = RowRules(
    table="predictions.recommendations", key="customer_id",
    predicates={
        "rows_with_null_keys": "customer_id IS NULL OR item_id IS NULL OR model_version IS NULL "
                               "OR segment IS NULL",
        "score_missing": "score IS NULL OR isnan(score)",
        "rank_out_of_range": "rank IS NULL OR NOT rank BETWEEN 1 AND $list_length",
        "segment_unknown": "segment NOT IN ('cold', 'warm')",
    },
    aggregates={"repeated_customer_ranks": "count(*) - count(DISTINCT (customer_id, rank))",
                "repeated_customer_items": "count(*) - count(DISTINCT (customer_id, item_id))"})


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


def prediction_frames(con: duckdb.DuckDBPyConnection, start: date, end: date,
                      thresholds: PredictionThresholds) -> dict[str, pd.DataFrame]:
    """What each predictions suite validates for the run dates start..end: one row per run
    date each (the rows themselves are counted in DuckDB, see ``RowRules``)."""
    window = {"start": start, "end": end}
    frames = {
        "forecasts_day": con.execute(FORECAST_DAY_SQL, {
            **window, "horizon": HORIZON_DAYS, "window": SELLABLE_WINDOW_DAYS}).df(),
        "forecasts": con.execute(FORECAST_ROWS.sql(), {
            **window, "horizon": HORIZON_DAYS,
            "max_daily_units": thresholds.max_daily_units}).df(),
        "recommendations_day": con.execute(RECOMMENDATION_DAY_SQL, {
            **window, "per_customer": LIST_LENGTH, "window": SELLABLE_WINDOW_DAYS}).df(),
        "recommendations": con.execute(RECOMMENDATION_ROWS.sql(), {
            **window, "list_length": LIST_LENGTH}).df(),
    }
    return {name: _dates(frame) for name, frame in frames.items()}
