"""The evaluation harness of docs/evaluation.md: rolling origins, the same scoring for every model.

At each origin D a model sees ``panel.until(D)`` only (features, scaling and training from data
up to D); its forecast of D+1..D+28 is scored against the actual units of those days.
"""
from __future__ import annotations

import time
from datetime import date
from typing import Callable

import numpy as np
import pandas as pd

from models.evaluation import mean_over_origins, ratio_over_origins
from models.forecaster.metrics import HORIZON, Forecast, score
from models.panel import DemandPanel

Model = Callable[[DemandPanel], Forecast]


def actuals(panel: DemandPanel, history: DemandPanel) -> np.ndarray:
    """Units of D+1..D+28 for the items of ``history`` (zeros for days without a row)."""
    d = history.days - 1 + (history.start - panel.start).days
    if d + HORIZON >= panel.days:
        raise ValueError(f"origin {history.end}: the panel ends {panel.end}, before D+28")
    pos = {item: i for i, item in enumerate(panel.item_ids)}
    rows = np.array([pos[i] for i in history.item_ids], dtype=np.int64)
    return panel.units[rows, d + 1:d + 1 + HORIZON].astype(np.float64)


def rolling_origins(panel: DemandPanel, origins: list[date], models: dict[str, Model],
                    log=print) -> pd.DataFrame:
    """One row per model, origin and segment with the metrics and the model's seconds."""
    rows = []
    for origin in origins:
        history = panel.until(origin)
        y = actuals(panel, history)
        for name, model in models.items():
            started = time.perf_counter()
            forecast = model(history)
            seconds = time.perf_counter() - started
            for segment, metrics in score(history, y, forecast).items():
                rows.append({"model": name, "origin": origin, "segment": segment,
                             "seconds": seconds, **metrics})
            if log:
                all_ = rows[-3]
                log(f"  {origin} {name:<40} WRMSSE {all_['wrmsse']:.3f}  ({seconds:.1f}s)")
    return pd.DataFrame(rows)


def realised(panel: DemandPanel, origin: date, published: Forecast, baseline: Model,
             others: dict[str, Model] | None = None) -> dict[str, dict]:
    """The forecast published at ``origin`` and the baseline's forecast of the same day, scored
    on the actual units of origin + 1 .. origin + 28 (``panel`` reaches that far); ``others``:
    more models, scored under their names."""
    history = panel.until(origin)
    y = actuals(panel, history)
    return {"model": score(history, y, published), "baseline": score(history, y, baseline(history)),
            **{name: score(history, y, model(history)) for name, model in (others or {}).items()}}


def summary(results: pd.DataFrame, reference: str | None = None) -> pd.DataFrame:
    """Mean over origins per model: WRMSSE all/cold, weekly WAPE, pinball, coverage; with a
    ``reference`` model (the oracle), WRMSSE also as a ratio to it."""
    table = mean_over_origins(results, {
        "WRMSSE all": ("wrmsse", "all"), "WRMSSE cold": ("wrmsse", "cold"),
        "WRMSSE warm": ("wrmsse", "warm"), "weekly WAPE all": ("weekly_wape", "all"),
        "pinball all": ("pinball", "all"), "p10-p90 coverage": ("coverage_80", "all"),
        "total bias all": ("total_bias", "all"), "total bias cold": ("total_bias", "cold"),
        "items per origin": ("items", "all"), "cold items": ("items", "cold"),
    })
    if reference is not None and reference in table.index:
        table = table.join(ratio_over_origins(results, reference, {
            "WRMSSE all / oracle": ("wrmsse", "all"), "WRMSSE cold / oracle": ("wrmsse", "cold")}))
    return table
