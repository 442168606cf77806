"""The predictions gate as a plain function: the stored forecasts and recommendations of each
run date against the contract of EVALUATION.md, before anything is published.

Four suites (checks/gate.py): ``forecasts`` and ``recommendations`` on the rows, and
``forecasts_day`` and ``recommendations_day`` on one row per run date computed here against the
marts (every sellable item forecast; every customer with an order up to D has a list of distinct
sellable items, 20 of them whenever 20 are sellable).
"""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from flows.forecasting import FORECAST_DAY_SQL
from flows.recommending import RECOMMENDATION_DAY_SQL
from models.forecaster.panel import SELLABLE_WINDOW_DAYS
from warehouse import db
from warehouse.settings import Settings


def prediction_frames(con, gate, start: date, end: date) -> dict[str, pd.DataFrame]:
    """What each predictions suite validates for the run dates start..end."""
    q = gate.quality.predictions
    frames = {
        "forecasts_day": con.execute(FORECAST_DAY_SQL, {
            "start": start, "end": end, "horizon": q.horizon_days,
            "window": SELLABLE_WINDOW_DAYS}).df(),
        "forecasts": con.execute(
            "SELECT run_date, item_id, target_date, mean, p10, p50, p90, model_version, "
            "target_date - run_date AS days_ahead FROM predictions.forecasts "
            "WHERE run_date BETWEEN ? AND ?", [start, end]).df(),
        "recommendations_day": con.execute(RECOMMENDATION_DAY_SQL, {
            "start": start, "end": end, "per_customer": q.recommendations_per_customer,
            "window": SELLABLE_WINDOW_DAYS}).df(),
        "recommendations": con.execute(
            "SELECT run_date, customer_id, rank, item_id, score, model_version, segment "
            "FROM predictions.recommendations WHERE run_date BETWEEN ? AND ?", [start, end]).df(),
    }
    for frame in frames.values():
        frame["run_date"] = pd.to_datetime(frame["run_date"]).dt.date
    return frames


def check_predictions(settings: Settings, gate, start: date, end: date,
                      days_per_validation: int = 31) -> list:
    """Validate each run date of start..end (one GX run per suite and month of days); returns
    the verdicts up to the first failed day."""
    verdicts = []
    while start <= end:
        last = min(end, start + timedelta(days=days_per_validation - 1))
        with db.reader(settings) as con:
            frames = prediction_frames(con, gate, start, last)
        days = list(frames["forecasts_day"]["run_date"])
        for verdict in gate.validate(days, frames):
            verdicts.append(verdict)
            if not verdict.passed:
                return verdicts
        start = last + timedelta(days=1)
    return verdicts
