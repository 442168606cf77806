"""Meta-training of the forecaster on the panel known at the training end E.

Tasks are (item, origin) pairs: origins every ``origin_every_days`` back from E-28 (so every
query target is on or before E), items sellable at the origin. Each outer step samples tasks,
embeds their support and query samples with the shared body, adapts the head per task with the
vmapped inner loop, and steps Adam on the weighted query losses. ``mode="pooled"`` trains the
same network with no inner loop (the ablation).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import torch

from models.artifact import TrainedModel
from models.forecaster.config import ForecasterConfig
from models import trees
from models.forecaster import boosted as boosted_trees
from models.forecaster.features import FeatureBuilder, training_tasks
from models.forecaster.network import Forecaster, Targets, adapted_outputs, loss, output_loss
from models.meta import (device_of, my_share, outer_loop, seed_everything, task_losses,
                         training_device)
from models.warm import warm_start
from models.panel import DemandPanel

POOLED_SUFFIX = "+pooled"  # the version of the pooled network trained with a model


@dataclass(kw_only=True)
class TrainedForecaster(TrainedModel):
    categories: list[str]  # the category vocabulary the network's embedding was sized for
    # the pooled network trained beside it on the same data (``pooled_candidate``): a candidate
    # of the model gate, stored in the same registered model
    pooled: Forecaster | None = None
    # the gradient-boosted trees trained beside it on the same data (``boosted_candidate``,
    # models/forecaster/boosted.py): LightGBM's text, a candidate of the model gate
    boosted: str | None = None

    def __post_init__(self):
        # trees saved by code that computed other inputs cannot forecast now: the gate's
        # boosted candidate sits out until the next retrain (decision 0035 added inputs)
        self.boosted = trees.kept(self.boosted, boosted_trees.INPUTS, self.version,
                                  "boosted trees")

    def as_pooled(self) -> "TrainedForecaster":
        """The pooled network as a model of its own (no adaptation), versioned as this one's."""
        if self.pooled is None:
            raise ValueError(f"{self.version} was trained without a pooled network")
        return replace(self, model=self.pooled, pooled=None, boosted=None,
                       config=self.config.model_copy(update={"mode": "pooled"}),
                       version=f"{self.version}{POOLED_SUFFIX}", metrics={}, started_from=None)


def batch_losses(model: Forecaster, fb: FeatureBuilder, items: np.ndarray, origins: np.ndarray,
                 limit: int, cfg: ForecasterConfig, inner_steps: int, inner: str = "closed_form"
                 ) -> torch.Tensor:
    """Per-task query losses after the inner loop (no inner loop when ``inner_steps`` is 0).

    inner: ``closed_form`` takes the linear head's inner steps without a head per task
    (``network.adapted_outputs``; the default, the fastest), ``vmap`` with torch.func over
    per-task heads (``models.meta.task_losses``), ``loop`` a Python loop over tasks: the same
    losses and gradients (tested)."""
    query, support = fb.tasks(items, origins, limit, cfg.support_origins, cfg.support_every_days)
    device = device_of(model)
    query, support = (s.map(lambda a: a.to(device)) for s in (query, support))
    h_query, h_support = model.embed(query), model.embed(support)
    if inner == "closed_form":
        task_loss = partial(output_loss, huber_delta=cfg.huber_delta,
                            quantile_weight=cfg.quantile_weight, per_task=True)
        out = adapted_outputs(model.head_params(), model.inner_lrs(), h_support,
                              Targets.of(support), h_query, inner_steps, task_loss,
                              create_graph=not cfg.first_order)
        # the query of one task is one sample: a leading axis of 1 inside the task
        return task_loss(out[:, None], Targets(*(t[:, None] for t in Targets.of(query))))
    if inner not in ("vmap", "loop"):
        raise ValueError(f"inner {inner!r}: one of closed_form, vmap, loop")
    query_data = (h_query[:, None], Targets(*(t[:, None] for t in Targets.of(query))))
    support_data = (h_support, Targets.of(support))
    loss_fn = partial(loss, huber_delta=cfg.huber_delta, quantile_weight=cfg.quantile_weight)
    return task_losses(model.head_params(), model.inner_lrs(), support_data, query_data, loss_fn,
                       steps=inner_steps, first_order=cfg.first_order, batched=inner == "vmap")


def meta_train(panel: DemandPanel, cfg: ForecasterConfig, log=print,
               start_from: TrainedForecaster | None = None) -> TrainedForecaster:
    """Meta-train on the panel; from ``start_from``'s weights (a model trained up to an earlier
    day) for ``warm_start_fraction`` of the steps when given (models/warm.py)."""
    rng = seed_everything(cfg.seed)
    categories = sorted(set(panel.category))
    fb = FeatureBuilder(panel, categories)
    tasks = training_tasks(panel, cfg.origin_every_days)
    weights = fb.task_weights(*tasks, cfg.revenue_share)
    model = Forecaster(len(categories), cfg.hidden, cfg.embedding, inner_lr=cfg.inner_lr)
    steps, started_from = warm_start(model, start_from, panel.end, cfg,
                                     {"category.weight": ("categories", categories)})
    device = training_device(cfg.device)
    model.to(device)  # after the warm start, which copies the parent's CPU weights
    started = time.perf_counter()
    inner_steps = cfg.inner_steps if cfg.mode == "maml" else 0
    items, origins = tasks
    end = panel.days - 1

    def batch_loss() -> torch.Tensor:
        pick = rng.choice(len(items), size=min(cfg.tasks_per_step, len(items)), replace=False)
        mine = my_share(pick)  # all of it in one process
        total = float(weights[pick].sum())
        if len(mine) == 0:
            return torch.zeros((), device=device)
        losses = batch_losses(model, fb, items[mine], origins[mine], end, cfg, inner_steps)
        w = torch.from_numpy(weights[mine].astype(np.float32)).to(device)
        return (losses * w).sum() / total

    history = outer_loop(model, steps, cfg.learning_rate, batch_loss, log,
                         f"loss (inner steps {inner_steps})")
    model.cpu().eval()  # predictions and artifacts are on the CPU
    return TrainedForecaster(
        model=model, categories=categories, config=cfg,
        train_start=panel.start.isoformat(), train_end=panel.end.isoformat(),
        data_checksum=panel.checksum(),
        metrics={"tasks": int(len(tasks[0])), "outer_steps": steps,
                 "final_loss": float(np.mean(history[-50:])) if history else float("nan"),
                 "seconds": time.perf_counter() - started},
        started_from=started_from,
    )
