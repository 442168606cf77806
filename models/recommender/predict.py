"""Daily lists: adapt the personal parameters to each customer's latest order, then score the
whole sellable catalogue at D and keep the top 20. The history passed in must end at D
(``history.until(D)``): nothing after D is read.
"""
from __future__ import annotations

import numpy as np
import torch

from models.meta import adapt_each, adaptation_rates
from models.recommender.data import ShopHistory
from models.recommender.features import PAIR_FEATURES, RecFeatures
from models.recommender.metrics import K, Recommendations, rank_blocks
from models.recommender.network import ranking_loss
from models.recommender.train import (
    Sampler,
    TrainedRecommender,
    all_content,
    customer_vectors,
    task_tensors,
)

CHUNK = 1024  # customers per block: bounds the dense (customers x items) score block


def recommend(trained: TrainedRecommender, history: ShopHistory,
              customers: np.ndarray | None = None, adaptation: str = "model",
              finetune_lr: float = 0.1, k: int = K) -> Recommendations:
    """Top-k sellable items per customer (default: every customer with an order up to D).

    adaptation: ``model`` adapts as the model was trained (none for a pooled model), ``none``
    uses the shared personal parameters, ``finetune`` takes the same number of plain SGD steps
    at ``finetune_lr`` (the pooled + fine-tuning ablation)."""
    cfg, model = trained.config, trained.model
    customers = history.customers() if customers is None else np.asarray(customers)
    fx = RecFeatures(history, trained.categories, trained.stores, trained.items)
    sampler = Sampler(history, cfg, np.random.default_rng(cfg.seed))
    t = history.items.days - 1
    items = history.sellable()
    column_of = np.full(len(history.items.item_ids), -1)
    column_of[items] = np.arange(len(items))
    with torch.no_grad():
        content = all_content(model, fx)
        v, b = model.items(torch.from_numpy(fx.items(items, np.full(len(items), t))),
                           content[torch.from_numpy(items)])
        never_bought = model.repeat(torch.zeros(1, PAIR_FEATURES))[0]
        shared = model.personal_params()
        lrs = adaptation_rates(adaptation, cfg.mode, shared, model.inner_lrs, finetune_lr)

        def block(chunk: np.ndarray) -> np.ndarray:
            u = customer_vectors(model, fx, chunk, np.full(len(chunk), t), content)
            if lrs is not None:
                support = task_tensors(model, fx, sampler.support(fx, chunk, t, True), content)
                personal = adapt_each(shared, lrs, support, ranking_loss, cfg.inner_steps)
            else:
                personal = {n: p.expand(len(chunk), *p.shape) for n, p in shared.items()}
            scores = (u + personal["shift"]) @ v.T + b[None, :]
            # repeat signals: only pairs bought before differ from a never-bought pair
            rows, bought = fx.bought_in(chunk, np.full(len(chunk), -1), np.full(len(chunk), t))
            cols = column_of[bought]
            rows, cols = rows[cols >= 0], cols[cols >= 0]
            if len(rows):
                r = model.repeat(torch.from_numpy(fx.pairs(chunk[rows], items[cols],
                                                           np.full(len(rows), t))))
                lift = ((r - never_bought) * personal["repeat"][rows]).sum(-1)
                scores[rows, cols] += lift
            return scores.double().numpy()

        return rank_blocks(history.purchases.customer_ids[customers], history.items.item_ids[items],
                           (block(customers[at:at + CHUNK])
                            for at in range(0, len(customers), CHUNK)), k)
