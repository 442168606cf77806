"""Daily lists: adapt the personal parameters to each customer's latest order, then score the
whole sellable catalogue at D and keep the top 20. The history passed in must end at D
(``history.until(D)``): nothing after D is read.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import torch

from models.meta import adapt_each, adaptation_rates
from models.recommender.data import ShopHistory
from models.recommender.features import PAIR_FEATURES, RecFeatures
from models.recommender.metrics import K, Recommendations, rank_chunks
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
    scorer = CutoffScorer(trained, history, adaptation, finetune_lr)
    return scorer.at(history.items.days - 1, customers, k)


def recommend_days(trained: TrainedRecommender, history: ShopHistory, days: list[date]
                   ) -> list[Recommendations]:
    """``recommend(trained, history.until(D))`` for each D of ``days``: the features read only
    data up to each cutoff (models/recommender/features.py), so the event index and the item
    content are built once for the days that share a model; each day is then scored at its
    own cutoff."""
    scorer = CutoffScorer(trained, history)
    return [scorer.at(history.items.column(d)) for d in days]


class CutoffScorer:
    """A trained recommender over one history, scoring the customers of any cutoff in it."""

    def __init__(self, trained: TrainedRecommender, history: ShopHistory,
                 adaptation: str = "model", finetune_lr: float = 0.1):
        self.trained, self.history = trained, history
        cfg, model = trained.config, trained.model
        self.fx = RecFeatures(history, trained.categories, trained.stores, trained.items)
        # support draws hash (seed, day, customer, item id or slot): not the generator's
        self.sampler = Sampler(history, cfg, np.random.default_rng(cfg.seed))
        with torch.no_grad():
            self.content = all_content(model, self.fx)
            self.never_bought = model.repeat(torch.zeros(1, PAIR_FEATURES))[0]
            self.shared = model.personal_params()
            self.lrs = adaptation_rates(adaptation, cfg.mode, self.shared, model.inner_lrs,
                                        finetune_lr)

    def at(self, t: int, customers: np.ndarray | None = None, k: int = K) -> Recommendations:
        """Top-k items sellable at cutoff t for customers (default: those with an order by t)."""
        cfg, model, fx, history = self.trained.config, self.trained.model, self.fx, self.history
        customers = history.customers(t) if customers is None else np.asarray(customers)
        items = np.flatnonzero(history.items.sellable(t))
        column_of = np.full(len(history.items.item_ids), -1)
        column_of[items] = np.arange(len(items))
        content, lrs, shared = self.content, self.lrs, self.shared
        with torch.no_grad():
            v, b = model.items(torch.from_numpy(fx.items(items, np.full(len(items), t))),
                               content[torch.from_numpy(items)])

            @torch.no_grad()  # on a pool thread: grad mode is per thread
            def block(chunk: np.ndarray) -> np.ndarray:
                u = customer_vectors(model, fx, chunk, np.full(len(chunk), t), content)
                if lrs is not None:
                    support = task_tensors(model, fx, self.sampler.support(fx, chunk, t, True),
                                           content)
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
                    lift = ((r - self.never_bought) * personal["repeat"][rows]).sum(-1)
                    scores[rows, cols] += lift
                return scores.double().numpy()

            return rank_chunks(history.purchases.customer_ids,
                               history.items.item_ids[items], customers, CHUNK, block, k)
