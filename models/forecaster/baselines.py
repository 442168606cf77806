"""Simple forecasting baselines, vectorised over items. Each maps the panel known at D to a
Forecast for D+1..D+28 of the items sellable at D.

They are what the meta-learned model must beat, and ``ses`` is what the daily flow publishes
before there is enough history to meta-train (marked in ``model_version``).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from models.forecaster.metrics import HORIZON, QUANTILES, Forecast
from models.panel import DemandPanel

Baseline = Callable[[DemandPanel], Forecast]


def _sellable(history: DemandPanel) -> np.ndarray:
    return np.flatnonzero(history.sellable(history.days - 1))


def empirical_quantiles(history: DemandPanel, rows: np.ndarray, days: int = 28) -> np.ndarray:
    """p10/p50/p90 of each item's daily units over its last ``days`` days, for every horizon;
    a listed item that never sold gets zeros."""
    return window_quantiles(history.units[rows, -days:])


def window_quantiles(recent: np.ndarray) -> np.ndarray:
    """(n, 28, 3): p10/p50/p90 of each row of daily units (n, days), for every horizon."""
    q = np.quantile(recent.astype(np.float64), QUANTILES, axis=1).T if len(recent) else np.zeros((0, 3))
    return np.repeat(q[:, None, :], HORIZON, axis=1)


def _forecast(history: DemandPanel, rows: np.ndarray, level: np.ndarray) -> Forecast:
    mean = np.repeat(level[:, None], HORIZON, axis=1) if level.ndim == 1 else level
    q = empirical_quantiles(history, rows)
    return Forecast(history.item_ids[rows], np.maximum(mean, 0.0), q)


def zero(history: DemandPanel) -> Forecast:
    rows = _sellable(history)
    return Forecast(history.item_ids[rows], np.zeros((len(rows), HORIZON)),
                    np.zeros((len(rows), HORIZON, 3)))


def seasonal_naive(history: DemandPanel) -> Forecast:
    """The last 7 days, repeated."""
    rows = _sellable(history)
    week = history.units[rows, -7:].astype(np.float64)
    if history.days < 7:
        week = np.pad(week, ((0, 0), (7 - history.days, 0)))
    return _forecast(history, rows, np.tile(week, (1, HORIZON // 7)))


def mean_28(history: DemandPanel) -> Forecast:
    rows = _sellable(history)
    return _forecast(history, rows, history.units[rows, -28:].astype(np.float64).sum(axis=1) / 28)


def ses(history: DemandPanel, alpha: float = 0.1) -> Forecast:
    """Simple exponential smoothing of calendar-day units, level 0 before the first sale (so a
    new item's level grows with its sales instead of jumping to its first day)."""
    rows = _sellable(history)
    units = history.units[rows].astype(np.float64)
    level = np.zeros(len(rows))
    for t in range(units.shape[1]):
        level = alpha * units[:, t] + (1 - alpha) * level
    return _forecast(history, rows, level)


BASELINES: dict[str, Baseline] = {
    "zero": zero,
    "seasonal naive (last 7 days)": seasonal_naive,
    "mean of last 28 days": mean_28,
    "exponential smoothing (alpha 0.1)": ses,
}
FALLBACK = "ses-alpha0.1"  # the model_version of the baseline published before meta-training
