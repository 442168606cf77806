"""Forecast metrics of docs/evaluation.md (M5-style, on daily units), for any model's forecast.

All functions take the panel known at the origin D (history), the actual units of D+1..D+28 and
a forecast, as arrays over the same items in the same order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domain.rules import COLD_ITEM_DAYS, SELLABLE_WINDOW_DAYS
from domain.rules import HORIZON_DAYS as HORIZON
from models.panel import NEVER, DemandPanel

QUANTILES = (0.1, 0.5, 0.9)


@dataclass
class Forecast:
    """Forecasts of one origin: ``mean`` (n, 28) and ``quantiles`` (n, 28, 3) for item_ids."""
    item_ids: np.ndarray
    mean: np.ndarray
    quantiles: np.ndarray

    def aligned(self, item_ids: np.ndarray) -> "Forecast":
        pos = {item: i for i, item in enumerate(self.item_ids)}
        missing = [i for i in item_ids if i not in pos]
        if missing:
            raise ValueError(f"{len(missing)} scored items have no forecast, e.g. {missing[:3]}")
        at = np.array([pos[i] for i in item_ids], dtype=np.int64)
        return Forecast(np.asarray(item_ids), self.mean[at], self.quantiles[at])


def rmsse_scale(history: np.ndarray, first_sale: np.ndarray) -> np.ndarray:
    """Mean squared day-to-day change from the first sale up to D; NaN with < 2 days."""
    diffs = np.diff(history, axis=1) ** 2
    t = history.shape[1]
    after_first = np.arange(1, t)[None, :] > first_sale[:, None]
    count = after_first.sum(axis=1)
    total = np.where(after_first, diffs, 0.0).sum(axis=1)
    scale = np.where((first_sale != NEVER) & (count >= 1), total / np.maximum(count, 1), np.nan)
    return np.where(scale > 0, scale, np.nan)


def scored_items(history: DemandPanel) -> np.ndarray:
    """Indices of the items scored at D: product items sold in the 90 days up to D."""
    last = history.last_sale()
    return np.flatnonzero((last != NEVER) & (last > history.days - 1 - SELLABLE_WINDOW_DAYS))


def segments(history: DemandPanel) -> np.ndarray:
    """``cold`` when the first sale is within the 28 days up to D (or none), else ``warm``."""
    first = history.first_sale()
    days_since = history.days - 1 - first
    return np.where((first == NEVER) | (days_since < COLD_ITEM_DAYS), "cold", "warm")


def score(history: DemandPanel, actual: np.ndarray, forecast: Forecast,
          groups: dict[str, np.ndarray] | None = None) -> dict[str, dict]:
    """Metrics for all scored items and per segment; ``actual`` is (n_history_items, 28);
    ``groups``: more segments, as boolean masks over the history's items."""
    idx = scored_items(history)
    ids = history.item_ids[idx]
    f = forecast.aligned(ids)
    y = actual[idx].astype(np.float64)
    hist = history.units[idx].astype(np.float64)
    scale = rmsse_scale(hist, history.first_sale()[idx])
    rmsse = np.sqrt(((y - f.mean) ** 2).mean(axis=1) / scale)
    weight = history.revenue[idx, -HORIZON:].sum(axis=1).astype(np.float64)
    seg = segments(history)[idx]
    out = {}
    for name, mask in (("all", np.ones(len(idx), bool)), ("cold", seg == "cold"),
                       ("warm", seg == "warm"), *((g, m[idx]) for g, m in (groups or {}).items())):
        out[name] = _metrics(y[mask], f.mean[mask], f.quantiles[mask], rmsse[mask], weight[mask])
    return out


def _metrics(y, mean, q, rmsse, weight) -> dict:
    ok = np.isfinite(rmsse)
    w = weight[ok]
    wrmsse = float((w * rmsse[ok]).sum() / w.sum()) if ok.any() and w.sum() > 0 else float("nan")
    weekly_y = y.reshape(len(y), 4, 7).sum(axis=2)
    weekly_f = mean.reshape(len(y), 4, 7).sum(axis=2)
    wape = float(np.abs(weekly_y - weekly_f).sum() / weekly_y.sum()) if weekly_y.sum() > 0 else float("nan")
    pinball = [float(np.mean(np.maximum(a * (y - q[..., i]), (a - 1) * (y - q[..., i]))))
               for i, a in enumerate(QUANTILES)] if len(y) else [float("nan")] * 3
    coverage = float(np.mean((y >= q[..., 0]) & (y <= q[..., 2]))) if len(y) else float("nan")
    # calibration in total: WRMSSE alone rewards forecasting zero for intermittent items
    total_bias = float(mean.sum() / y.sum() - 1) if y.sum() > 0 else float("nan")
    return {"items": int(len(y)), "wrmsse": wrmsse, "weekly_wape": wape,
            "pinball": float(np.mean(pinball)), "coverage_80": coverage, "total_bias": total_bias}
