"""Meta-training of the forecaster on the panel known at the training end E.

Tasks are (item, origin) pairs: origins every ``origin_every_days`` back from E-28 (so every
query target is on or before E), items sellable at the origin. Each outer step samples tasks,
embeds their support and query samples with the shared body, adapts the head per task with the
vmapped inner loop, and steps Adam on the weighted query losses. ``mode="pooled"`` trains the
same network with no inner loop (the ablation).
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from models.config import ForecasterConfig
from models.features import LAGS, FeatureBuilder
from models.forecaster import Forecaster, Targets
from models.meta import task_losses
from models.metrics import HORIZON
from models.panel import DemandPanel

FIRST_ORIGIN = LAGS // 2 - 1  # the earliest origin column: 28 days of history before it


@dataclass
class TrainedForecaster:
    model: Forecaster
    categories: list[str]
    config: ForecasterConfig
    train_start: str
    train_end: str
    data_checksum: str
    metrics: dict = field(default_factory=dict)
    version: str = ""


def seed_everything(seed: int) -> np.random.Generator:
    random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def training_tasks(panel: DemandPanel, every_days: int) -> tuple[np.ndarray, np.ndarray]:
    """(items, origins) of every task whose query window ends by the panel's last day."""
    end = panel.days - 1
    items, origins = [], []
    for t in range(end - HORIZON, FIRST_ORIGIN - 1, -every_days):
        rows = np.flatnonzero(panel.sellable(t))
        items.append(rows)
        origins.append(np.full(len(rows), t))
    if not items:
        raise ValueError(f"the panel has {panel.days} days: too few to build a training origin "
                         f"(needs at least {FIRST_ORIGIN + 1 + HORIZON})")
    return np.concatenate(items), np.concatenate(origins)


def batch_losses(model: Forecaster, fb: FeatureBuilder, items: np.ndarray, origins: np.ndarray,
                 limit: int, cfg: ForecasterConfig, inner_steps: int, batched: bool = True
                 ) -> torch.Tensor:
    """Per-task query losses after the inner loop (no inner loop when ``inner_steps`` is 0)."""
    query, support = fb.tasks(items, origins, limit, cfg.support_origins, cfg.support_every_days)
    h_query, h_support = model.embed(query), model.embed(support)
    return task_losses(model.head_params(), model.inner_lrs(), h_support, Targets.of(support),
                       h_query, Targets.of(query), steps=inner_steps,
                       huber_delta=cfg.huber_delta, quantile_weight=cfg.quantile_weight,
                       first_order=cfg.first_order, batched=batched)


def meta_train(panel: DemandPanel, cfg: ForecasterConfig, log=print) -> TrainedForecaster:
    rng = seed_everything(cfg.seed)
    categories = sorted(set(panel.category))
    fb = FeatureBuilder(panel, categories)
    items, origins = training_tasks(panel, cfg.origin_every_days)
    weights = fb.task_weights(items, origins, cfg.revenue_share)
    model = Forecaster(len(categories), cfg.hidden, cfg.embedding, inner_lr=cfg.inner_lr)
    optimiser = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(cfg.outer_steps, 1))
    inner_steps = cfg.inner_steps if cfg.mode == "maml" else 0
    end = panel.days - 1
    started, history = time.perf_counter(), []
    for step in range(cfg.outer_steps):
        pick = rng.choice(len(items), size=min(cfg.tasks_per_step, len(items)), replace=False)
        losses = batch_losses(model, fb, items[pick], origins[pick], end, cfg, inner_steps)
        w = torch.from_numpy(weights[pick].astype(np.float32))
        outer = (losses * w).sum() / w.sum()
        optimiser.zero_grad()
        outer.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        history.append(float(outer.detach()))
        if log and (step + 1) % max(cfg.outer_steps // 15, 1) == 0:
            log(f"  step {step + 1}/{cfg.outer_steps}: loss {np.mean(history[-50:]):.4f}")
    model.eval()
    return TrainedForecaster(
        model=model, categories=categories, config=cfg,
        train_start=panel.start.isoformat(), train_end=panel.end.isoformat(),
        data_checksum=panel.checksum(),
        metrics={"tasks": int(len(items)), "outer_steps": cfg.outer_steps,
                 "final_loss": float(np.mean(history[-50:])) if history else float("nan"),
                 "seconds": time.perf_counter() - started},
    )
