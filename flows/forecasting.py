"""The forecasting stage as plain functions: choose or train the point-in-time model for each run
date, forecast every sellable item, store the rows in the warehouse (``predictions.forecasts``).

Point in time: the model used for D was trained on the warehouse's data up to D at the latest
(and that data is unchanged since: its checksum is compared); it is retrained when its training
window ends more than ``retrain_every_days`` before D. Before the warehouse holds
``min_history_days`` days, the simple baseline is published instead, named in model_version.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from flows.predicting import DayPrediction, predict_days
from models import registry
from models.forecaster import baselines
from models.forecaster.metrics import HORIZON, Forecast
from models.forecaster.panel import DemandPanel, load_panel
from models.forecaster.predict import forecast
from models.forecaster.train import meta_train
from warehouse import db
from warehouse.settings import Settings

log = logging.getLogger(__name__)
BASELINE_VERSION = f"baseline-{baselines.FALLBACK}"
FORECAST_SCHEMA = pa.schema([
    ("run_date", pa.date32()), ("item_id", pa.string()), ("target_date", pa.date32()),
    ("mean", pa.float64()), ("p10", pa.float64()), ("p50", pa.float64()), ("p90", pa.float64()),
    ("model_version", pa.string()), ("history_days", pa.int32()),
])


def forecast_days(settings: Settings, run_dates: list[date], log=log.info,
                  days_per_transaction: int = 31) -> list[DayPrediction]:
    """Forecast each run date in order and replace its rows in ``predictions.forecasts``."""
    with db.reader(settings) as con:
        panel = load_panel(con, max(run_dates))
    models = registry.PointInTime(settings.models_dir, settings.forecaster)

    def one(history: DemandPanel):
        f, version, trained = _forecast_one(settings, history, models, log)
        return forecast_table(history, f, version), version, trained, len(f.item_ids)

    return predict_days(settings, "predictions.forecasts", run_dates, panel.until, one,
                        days_per_transaction)


def _forecast_one(settings: Settings, history: DemandPanel, models: registry.PointInTime,
                  log) -> tuple[Forecast, str, bool]:
    """Forecast of D = history.end, its model version and whether a model was trained."""
    cfg = settings.forecaster
    if history.days < cfg.min_history_days:
        return baselines.ses(history), BASELINE_VERSION, False

    def train():
        log(f"meta-training the forecaster on {history.start}..{history.end}")
        return meta_train(history, cfg, log=log)

    model, trained = models.model_for(history.end, lambda end: history.until(end).checksum(),
                                      train)
    return forecast(model, history), model.version, trained


def forecast_table(history: DemandPanel, f: Forecast, version: str) -> pa.Table:
    """Rows of the published contract: one per item and target day D+1..D+28."""
    n = len(f.item_ids)
    run_date = history.end
    pos = {item: i for i, item in enumerate(history.item_ids)}
    first = history.first_sale()[[pos[i] for i in f.item_ids]] if n else np.zeros(0, np.int64)
    history_days = np.where(first >= 0, history.days - 1 - first, -1)
    targets = [run_date + timedelta(days=h) for h in range(1, HORIZON + 1)]
    return pa.table({
        "run_date": pa.array([run_date] * (n * HORIZON), pa.date32()),
        "item_id": pa.array(np.repeat(f.item_ids.astype(str), HORIZON), pa.string()),
        "target_date": pa.array(targets * n, pa.date32()),
        "mean": f.mean.reshape(-1), "p10": f.quantiles[..., 0].reshape(-1),
        "p50": f.quantiles[..., 1].reshape(-1), "p90": f.quantiles[..., 2].reshape(-1),
        "model_version": pa.array([version] * (n * HORIZON), pa.string()),
        # an item listed in the catalogue but never sold has no history: null
        "history_days": pa.array(np.repeat(history_days, HORIZON), pa.int32(),
                                 mask=np.repeat(history_days < 0, HORIZON)),
    }, schema=FORECAST_SCHEMA)


# -- what the predictions gate reads of the stored forecasts ---------------------------------
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
""".replace("{sellable}", db.SELLABLE_BY_DAY_CTE)
