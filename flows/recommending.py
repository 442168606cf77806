"""The recommendation stage as plain functions: top-20 sellable items for every customer with an
order up to each run date, stored in ``predictions.recommendations``.

Point in time, as for the forecaster: the lists of D come from ``ShopHistory.until(D)`` and a
model trained on the warehouse's data up to D at the latest (its checksum compared); it is
meta-trained again when its training window ends more than ``retrain_every_days`` before D.
Before the warehouse holds ``min_history_days`` days, the best simple baseline of EVALUATION.md
(past items by order count x recency, filled by recent popularity) is published instead,
named in ``model_version``.
"""
from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pyarrow as pa

from flows.predicting import DayPrediction, predict_days
from models import registry
from models.recommender import baselines
from models.recommender.data import ShopHistory, load_history
from models.recommender.metrics import Recommendations
from models.recommender.predict import recommend
from models.recommender.train import meta_train
from warehouse import db
from warehouse.settings import Settings

log = logging.getLogger(__name__)
BASELINE_VERSION = f"baseline-{baselines.FALLBACK}"
RECOMMENDATION_SCHEMA = pa.schema([
    ("run_date", pa.date32()), ("customer_id", pa.string()), ("rank", pa.int32()),
    ("item_id", pa.string()), ("score", pa.float64()), ("model_version", pa.string()),
    ("segment", pa.string()),
])


def recommend_days(settings: Settings, run_dates: list[date], log=log.info,
                   days_per_transaction: int = 31) -> list[DayPrediction]:
    """Recommend for each run date in order and replace its rows in
    ``predictions.recommendations``."""
    with db.reader(settings) as con:
        full = load_history(con, max(run_dates))
    models = registry.PointInTime(settings.models_dir, settings.recommender)

    def one(history: ShopHistory):
        recs, version, trained = _recommend_one(settings, history, models, log)
        return (recommendation_table(history, recs, version), version, trained,
                len(recs.customer_ids))

    return predict_days(settings, "predictions.recommendations", run_dates, full.until, one,
                        days_per_transaction)


def _recommend_one(settings: Settings, history: ShopHistory, models: registry.PointInTime,
                   log) -> tuple[Recommendations, str, bool]:
    """Lists of D = history.run_date, their model version and whether a model was trained."""
    cfg = settings.recommender
    if history.items.days < cfg.min_history_days:
        return (baselines.recommend(history, baselines.BASELINES[baselines.FALLBACK]),
                BASELINE_VERSION, False)

    def train():
        log(f"meta-training the recommender on {history.items.start}..{history.run_date}")
        return meta_train(history, cfg, log=log)

    model, trained = models.model_for(
        history.run_date, lambda end: history.until(end).checksum(), train)
    return recommend(model, history), model.version, trained


def recommendation_table(history: ShopHistory, recs: Recommendations, version: str) -> pa.Table:
    """Rows of the published contract: one per customer and rank 1..k."""
    m, k = recs.item_ids.shape if recs.item_ids.ndim == 2 else (0, 0)
    pos = {c: i for i, c in enumerate(history.purchases.customer_ids)}
    segments = history.segments(np.array([pos[c] for c in recs.customer_ids], dtype=np.int64))
    return pa.table({
        "run_date": pa.array([history.run_date] * (m * k), pa.date32()),
        "customer_id": pa.array(np.repeat(recs.customer_ids.astype(str), k), pa.string()),
        "rank": pa.array(np.tile(np.arange(1, k + 1), m), pa.int32()),
        "item_id": pa.array(recs.item_ids.astype(str).reshape(-1), pa.string()),
        "score": pa.array(recs.scores.reshape(-1), pa.float64()),
        "model_version": pa.array([version] * (m * k), pa.string()),
        "segment": pa.array(np.repeat(segments.astype(str), k), pa.string()),
    }, schema=RECOMMENDATION_SCHEMA)


# -- what the predictions gate reads of the stored lists -------------------------------------
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
""".replace("{sellable}", db.SELLABLE_BY_DAY_CTE)
