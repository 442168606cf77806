"""Gradient-boosted trees over the network's inputs: a forecaster candidate of the model gate.

One LightGBM model learns each item's mean daily units over the 28 days after an origin,
divided by the item's scale, from the same point-in-time inputs as the network
(models/forecaster/features.py: scaled lags, statics, the day of week) plus the lags' means over
7/14/28/56 days, the share of selling days (trees split on one input at a time, so sums of
many lags are handed to them) and the momentum of the whole shop and of the item's category
(a shop-wide ramp that no item's own lags show as a whole; decision 0035). Training origins
are every ``EVERY_DAYS`` back from D - 28 over ``TRAIN_DAYS``, so every target is known at D;
the rows of items without a sale in the 56 days before their origin (most rows of a shop of
slow movers) are thinned to ``QUIET_KEPT`` of them, weighted up to stand for the rest
(decision 0037). Tweedie loss: daily units are intermittent, and a log-link loss keeps the
forecasts' total near what sold, with samples weighted by the item's scale (units) over
RMSSE's scale. A forecast spreads the level over D+1..D+28 with the shop's day-of-week profile
of the last 8 weeks; its quantiles are each item's empirical 10/50/90% of its last 28 days, as
the baselines' (models/forecaster/baselines.py; decision 0034).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import lightgbm
import numpy as np

from models import trees
from models.forecaster.features import LAGS, STATIC, FeatureBuilder, training_tasks
from models.forecaster.baselines import window_quantiles
from models.forecaster.metrics import HORIZON, Forecast
from models.panel import DemandPanel

TRAIN_DAYS = 182
EVERY_DAYS = 7
ROUNDS = 600
PROFILE_DAYS = 56
QUIET_KEPT = 0.25  # the share of rows without a sale in the lags kept for training (0037)
PARAMS = {"objective": "tweedie", "tweedie_variance_power": 1.2, "learning_rate": 0.025,
          "num_leaves": 63, "min_data_in_leaf": 100, "feature_fraction": 0.8,
          "bagging_fraction": 0.8, "bagging_freq": 1, "seed": 0, "deterministic": True,
          "force_col_wise": True, "num_threads": 2, "verbose": -1}
SUFFIX = "+boosted"  # the version of the boosted trees trained with a registered model
INPUTS = [*(f"lag_{LAGS - k}" for k in range(LAGS)), *STATIC, "origin_weekday",
          "mean_7", "mean_14", "mean_28", "mean_56", "selling_share_28", "log_days_since_sale",
          "shop_momentum_28", "shop_momentum_7", "category_momentum_28", "category_momentum_7"]


def _inputs(fb: FeatureBuilder, items: np.ndarray, origins: np.ndarray):
    """(inputs, samples) of (item, origin) pairs: the network's inputs with the day of week as
    one number, the window means of the scaled lags, and the days since the item's last sale
    (beyond the lags' 56 days: an item that sold 80 days ago is scored, one that sold a year ago
    is not, and the lags cannot tell them apart)."""
    s = fb.samples(items, origins, None)
    columns = np.arange(fb.panel.days, dtype=np.int32)
    last_sale = np.maximum.accumulate(np.where(fb.panel.units > 0, columns, -1), axis=1)
    last = last_sale[items, origins] if len(items) else np.zeros(0, np.int32)
    since = np.where(last >= 0, origins - last, origins + 1 + LAGS)  # never sold: longer than any
    x = s.x.numpy()
    lags = x[:, :LAGS]
    weekday = np.argmax(x[:, LAGS + len(STATIC):], axis=1)[:, None]
    windows = [lags[:, -days:].mean(axis=1) for days in (7, 14, 28, LAGS)]
    selling = (lags[:, -28:] > 0).mean(axis=1)
    # the shop's and each category's units, cumulative per day (a leading zero column)
    shop = fb.cum_shop[None, :]
    category = np.zeros((fb.category_groups, fb.cum_units.shape[1]))
    np.add.at(category, fb.category_group, fb.cum_units)
    momentum = [*_momentum(shop, np.zeros(len(items), np.int64), origins),
                *_momentum(category, fb.category_group[items], origins)]
    return np.column_stack([x[:, :LAGS + len(STATIC)], weekday, *windows, selling,
                            np.log1p(since), *momentum]), s


def _momentum(cumulative: np.ndarray, rows: np.ndarray, origins: np.ndarray) -> list[np.ndarray]:
    """Of the series ``rows`` of ``cumulative`` (units summed up to each day, after a leading
    zero column) at each origin: the log ratio of the units of the 28 days up to the origin to
    the 28 days before them, and of the last 7 days' daily rate to the last 28 days'. Columns
    up to the origin only; days before the panel's first count as zero."""
    def units(first, last):  # of the days first..last, inclusive
        end = np.maximum(last + 1, 0)
        return cumulative[rows, end] - cumulative[rows, np.clip(first, 0, end)]

    last28, last7 = units(origins - 27, origins), units(origins - 6, origins)
    before28 = units(origins - 55, origins - 28)
    return [np.log((last28 + 1) / (before28 + 1)), np.log((4 * last7 + 1) / (last28 + 1))]


def train(history: DemandPanel, rounds: int = ROUNDS) -> str:
    """The model (LightGBM's text) trained on ``history``: every target is on or before its
    last day, so ``train(panel.until(D))`` is point in time."""
    fb = FeatureBuilder(history, [])
    # the networks' tasks (items sellable at origins every EVERY_DAYS back from D - 28; too
    # short a panel says so), of the last TRAIN_DAYS
    items, origins = training_tasks(history, EVERY_DAYS)
    recent = origins > history.days - 1 - HORIZON - TRAIN_DAYS
    items, origins = items[recent], origins[recent]
    if not len(items):
        raise ValueError(f"no item was sellable at a training origin of the {history.days} days")
    items, origins, stands_for = thinned(fb, items, origins)
    x, s = _inputs(fb, items, origins)
    scale, norm = s.scale.numpy().astype(np.float64), s.norm.numpy().astype(np.float64)
    level = s.y.numpy().astype(np.float64).mean(axis=1) / scale
    # Tweedie's fit on level / scale keeps sum(weight * (target - fit)) near zero; with the
    # weight ``scale`` that is the units' total, and dividing by RMSSE's scale leans towards
    # what WRMSSE scores. Revenue weights (WRMSSE's) forecast 18% too little in total on the
    # sparse shop (decision 0034).
    weight = scale ** 2 / norm * stands_for
    data = lightgbm.Dataset(x, level, weight=weight, feature_name=INPUTS, free_raw_data=True)
    # Tweedie refuses targets that are all zero (nothing sold after any origin): squared error
    # fits them as they are, a forecast of zero
    params = PARAMS if level.any() else {**PARAMS, "objective": "regression"}
    return lightgbm.train(params, data, num_boost_round=rounds).model_to_string()


def thinned(fb: FeatureBuilder, items: np.ndarray, origins: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training rows kept and how many rows each stands for: every row of an item that sold
    in the ``LAGS`` days up to its origin, and ``QUIET_KEPT`` of the others, drawn with a fixed
    seed (the same history trains the same trees), each standing for 1 / ``QUIET_KEPT``."""
    cumulative = fb.cum_units
    quiet = cumulative[items, origins + 1] == cumulative[items, np.maximum(origins + 1 - LAGS, 0)]
    kept = ~quiet | (np.random.default_rng(0).random(len(items)) < QUIET_KEPT)
    return items[kept], origins[kept], np.where(quiet[kept], 1 / QUIET_KEPT, 1.0)


def forecast(model: str, history: DemandPanel) -> Forecast:
    """The forecast of D+1..D+28 for the items sellable at D, the panel's last day."""
    return forecast_days(model, history, [history.end])[0]


def forecast_days(model: str, panel: DemandPanel, days: list[date]) -> list[Forecast]:
    """``forecast(model, panel.until(D))`` for each D of ``days`` (inputs at D read columns up
    to D only), predicted in one call."""
    booster = trees.booster(model, INPUTS, "the boosted trees")
    fb = FeatureBuilder(panel, [])
    columns = [panel.column(d) for d in days]
    rows = [np.flatnonzero(panel.sellable(c)) for c in columns]
    items = np.concatenate(rows)
    origins = np.concatenate([np.full(len(r), c) for r, c in zip(rows, columns)])
    x, s = _inputs(fb, items, origins)
    level = np.maximum(booster.predict(x, num_threads=PARAMS["num_threads"]), 0.0)
    level = level * s.scale.numpy().astype(np.float64)
    shop = panel.units.sum(axis=0, dtype=np.float64)
    out, at = [], 0
    for r, c in zip(rows, columns):
        mean = level[at:at + len(r), None] * weekday_profile(shop[:c + 1], panel.start)[None, :]
        quantiles = window_quantiles(panel.units[r, max(c - 27, 0):c + 1])
        out.append(Forecast(panel.item_ids[r], mean, quantiles))
        at += len(r)
    return out


def weekday_profile(shop: np.ndarray, start: date) -> np.ndarray:
    """(28,) multipliers of the 28 days after the last of ``shop`` (the shop's units per day
    from ``start``): its units by day of week over the last ``PROFILE_DAYS``, relative to their
    mean (ones where nothing sold)."""
    days = min(PROFILE_DAYS, len(shop))
    weekday = (start.weekday() + np.arange(len(shop) - days, len(shop))) % 7
    recent = shop[-days:]
    by_day = np.array([recent[weekday == k].mean() if (weekday == k).any() else 0.0
                       for k in range(7)])
    if by_day.mean() <= 0:
        return np.ones(HORIZON)
    return (by_day / by_day.mean())[(start.weekday() + len(shop) + np.arange(HORIZON)) % 7]


@dataclass(frozen=True)
class Boosted:
    """The boosted trees trained with a registered forecaster model (its ``boosted``), as the
    pipeline serves them: the version names both."""
    trained: object  # models.forecaster.train.TrainedForecaster, with boosted trees

    @property
    def version(self) -> str:
        return f"{self.trained.version}{SUFFIX}"
