"""Daily prediction: adapt the trained head to each sellable item's latest history, then
forecast D+1..D+28. The panel passed in must end at D (``panel.until(D)``): nothing after D is
read, which is what makes a forecast for D reproducible in any later backfill.
"""
from __future__ import annotations

from datetime import date
from functools import partial

import numpy as np
import torch

from models.forecaster.features import FeatureBuilder
from models.forecaster.metrics import Forecast
from models.forecaster.network import Targets, adapted_outputs, decode, decode_outputs, output_loss
from models.forecaster.train import TrainedForecaster
from models.meta import adaptation_rates
from models.panel import DemandPanel

CHUNK = 512  # items adapted at once: bounds memory, not results (2048 was 20% slower on
# 20k items and 2 cores when each item had its own head; now within noise of 256-1024)


def forecast(trained: TrainedForecaster, history: DemandPanel, rows: np.ndarray | None = None,
             adaptation: str = "model", finetune_lr: float = 0.05) -> Forecast:
    """Forecast the given panel rows (default: items sellable at D).

    adaptation: ``model`` adapts as the model was meta-trained (none for a pooled model),
    ``none`` uses the shared head, ``finetune`` takes the same number of plain SGD steps at
    ``finetune_lr`` (the pooled + fine-tuning ablation)."""
    t = history.days - 1
    rows = np.flatnonzero(history.sellable(t)) if rows is None else np.asarray(rows, np.int64)
    fb = FeatureBuilder(history, trained.categories)
    mean, quantiles = _forecast_at(trained, fb, rows, t, adaptation, finetune_lr)
    return Forecast(history.item_ids[rows], mean, quantiles)


def forecast_days(trained: TrainedForecaster, panel: DemandPanel, days: list[date]
                  ) -> list[Forecast]:
    """``forecast(trained, panel.until(D))`` for each D of ``days``: samples at origin D read
    only columns up to D (models/forecaster/features.py), so one feature index over the panel
    serves every day. Days are adapted one at a time: one pass over all their items was slower
    (40 s against 32 s for 7 days of 20k items) and held 3.8 GB instead of 1.4 GB, its many
    result arrays fragmenting the heap between the large temporaries (decision 0011)."""
    fb = FeatureBuilder(panel, trained.categories)
    out = []
    for d in days:
        column = panel.column(d)
        rows = np.flatnonzero(panel.sellable(column))
        mean, quantiles = _forecast_at(trained, fb, rows, column, "model", 0.05)
        out.append(Forecast(panel.item_ids[rows], mean, quantiles))
    return out


def _forecast_at(trained: TrainedForecaster, fb: FeatureBuilder, rows: np.ndarray, origin: int,
                 adaptation: str, finetune_lr: float) -> tuple[np.ndarray, np.ndarray]:
    """(mean (n, 28), integer quantiles (n, 28, 3)) of item rows at one origin column."""
    cfg, model = trained.config, trained.model
    loss_fn = partial(output_loss, huber_delta=cfg.huber_delta,
                      quantile_weight=cfg.quantile_weight, per_task=True)
    means, quantiles = [], []
    with torch.no_grad():
        head = model.head_params()
        lrs = adaptation_rates(adaptation, cfg.mode, head, model.inner_lrs, finetune_lr)
        for at in range(0, len(rows), CHUNK):
            chunk = rows[at:at + CHUNK]
            query, support = fb.tasks(chunk, np.full(len(chunk), origin), origin,
                                      cfg.support_origins, cfg.support_every_days)
            h_query, h_support = model.embed(query), model.embed(support)
            if lrs is None:
                mean, q = decode(head, h_query, query.scale)
            else:
                out = adapted_outputs(head, lrs, h_support, Targets.of(support), h_query,
                                      cfg.inner_steps, loss_fn)
                mean, q = decode_outputs(out, query.scale)
            means.append(mean.double().numpy())
            quantiles.append(q.double().numpy())
    if not means:
        return np.zeros((0, 28)), np.zeros((0, 28, 3))
    return np.concatenate(means), integer_quantiles(np.concatenate(quantiles))


def integer_quantiles(q: np.ndarray) -> np.ndarray:
    """Units are counts, and a quantile of a count is a whole number: rounded to the nearest
    (rounding keeps p10 <= p50 <= p90). It also lets p10 be exactly 0 on the many days an
    intermittent item sells nothing, which softplus alone never reaches."""
    return np.round(q)
