"""Meta-training of the recommender on the history known at the training end E.

A task is a customer at an origin t (origins every ``origin_every_days`` back from
E - window_days, so every query ends by E): the **query** is what they buy in (t, t + window]
against sampled negatives, with features at t; the **support** is their latest order up to t,
with features of the day before it (what we know when a customer has one or two orders is
exactly such an order). Each outer step adapts the personal parameters on each task's support
(vmapped inner loop) and steps Adam on the query ranking loss (sampled softmax). ``mode="pooled"`` trains the same
network without the inner loop (the ablation).
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from models.artifact import TrainedModel
from models.meta import outer_loop, seed_everything, task_losses
from models.recommender.config import RecommenderConfig
from models.recommender.data import ShopHistory
from models.recommender.features import RecFeatures
from models.recommender.network import Recommender, ranking_loss
from models.warm import warm_start


@dataclass(kw_only=True)
class TrainedRecommender(TrainedModel):
    # the vocabularies the network's embeddings were sized for
    items: list[str]
    categories: list[str]
    stores: list[str]


@dataclass
class CandidateSets:
    """Padded candidate items of B tasks: K = positives + negatives slots each."""
    customers: np.ndarray   # (B,)
    cutoff: np.ndarray      # (B,) features are computed at this day
    items: np.ndarray       # (B, K) item rows (0 where padded)
    positive: np.ndarray    # (B, K) 1.0 for a positive
    mask: np.ndarray        # (B, K) 1.0 for a real slot
    log_expected: np.ndarray  # (B, K) log of how often a negative is drawn (0 for positives)


class Sampler:
    """Sellable items and their sampling weights per cutoff day; builds candidate sets."""

    def __init__(self, history: ShopHistory, cfg: RecommenderConfig, rng: np.random.Generator):
        self.history, self.cfg, self.rng = history, cfg, rng
        self._pool: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def pool(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sellable item rows at t, their popularity sampling weights, and those weights
        spread over all item rows (0 for an item not sellable)."""
        if t not in self._pool:
            items = self.history.items
            rows = np.flatnonzero(items.sellable(t))
            pop = items.orders[rows, max(0, t - 29):t + 1].sum(axis=1) + 1.0
            weights = pop / pop.sum()
            every = np.zeros(len(items.item_ids))
            every[rows] = weights
            self._pool[t] = (rows, weights, every)
        return self._pool[t]

    def candidates(self, fx: RecFeatures, customers: np.ndarray, cutoffs: np.ndarray,
                   pool_days: np.ndarray, positives: list[np.ndarray],
                   per_customer_seed: bool = False) -> CandidateSets:
        """Positives (at most ``positives``, sampled) and negatives per task: up to a third
        from the customer's own earlier items that they did not buy again (without them the
        model never learns which past items come back), the rest half uniform over the
        sellable items and half by recent popularity. Each negative carries the log of its
        expected draws, which the loss subtracts (logQ correction), so the sampled softmax
        estimates the softmax over the whole catalogue whatever the mixture. With
        ``per_customer_seed`` each
        customer's sample comes from a generator seeded by the seed, the day and the customer
        id, so a customer's list does not depend on who else is scored in the same call."""
        p_max, n_neg = self.cfg.positives, self.cfg.negatives
        k = p_max + n_neg
        items = np.zeros((len(customers), k), np.int64)
        positive = np.zeros((len(customers), k), np.float32)
        mask = np.zeros((len(customers), k), np.float32)
        log_expected = np.zeros((len(customers), k), np.float32)
        ids = self.history.purchases.customer_ids
        for b, pos in enumerate(positives):
            c = int(customers[b])
            rng = self.rng if not per_customer_seed else np.random.default_rng(
                [self.cfg.seed, int(pool_days[b]), zlib.crc32(str(ids[c]).encode())])
            if len(pos) > p_max:
                pos = rng.choice(pos, p_max, replace=False)
            own_pool = np.setdiff1d(fx.bought_between(c, -1, int(cutoffs[b])), pos)
            own = rng.choice(own_pool, min(len(own_pool), n_neg // 3), replace=False)
            rows, weights, popularity = self.pool(int(pool_days[b]))
            rest = n_neg - len(own)
            n_uniform, n_popular = rest - rest // 2, rest // 2
            neg = np.concatenate([own, rng.choice(rows, n_uniform), rng.choice(rows, n_popular, p=weights)])
            neg = neg[~np.isin(neg, pos)]
            expected = (n_uniform / len(rows) + n_popular * popularity[neg]
                        + np.isin(neg, own_pool) * len(own) / max(len(own_pool), 1))
            items[b, :len(pos)], positive[b, :len(pos)], mask[b, :len(pos)] = pos, 1.0, 1.0
            slots = slice(p_max, p_max + len(neg))
            items[b, slots], mask[b, slots] = neg, 1.0
            log_expected[b, slots] = np.log(np.maximum(expected, 1e-12))
        return CandidateSets(customers, cutoffs, items, positive, mask, log_expected)

    def support(self, fx: RecFeatures, customers: np.ndarray, t: np.ndarray,
                per_customer_seed: bool = False) -> CandidateSets:
        """Each customer's latest order up to t, as seen the day before it."""
        t = np.broadcast_to(np.asarray(t), np.shape(customers))
        last = fx.last_order_day(customers, t)
        positives = [fx.bought_on(int(c), int(d)) if d >= 0 else np.zeros(0, np.int64)
                     for c, d in zip(customers, last)]
        return self.candidates(fx, customers, np.maximum(last - 1, 0), t, positives,
                               per_customer_seed)


def task_tensors(model: Recommender, fx: RecFeatures, sets: CandidateSets,
                 content: torch.Tensor) -> tuple:
    """The network's view of candidate sets: (u, v, b, r, positive, mask, log_expected), task
    axis first."""
    b, k = sets.items.shape
    flat_t = np.repeat(sets.cutoff, k)
    item_x = torch.from_numpy(fx.items(sets.items.ravel(), flat_t))
    pair_x = torch.from_numpy(fx.pairs(np.repeat(sets.customers, k), sets.items.ravel(), flat_t))
    v, bias = model.items(item_x, content[torch.from_numpy(sets.items.ravel())])
    r = model.repeat(pair_x)
    u = customer_vectors(model, fx, sets.customers, sets.cutoff, content)
    return (u, v.view(b, k, -1), bias.view(b, k), r.view(b, k, -1),
            torch.from_numpy(sets.positive), torch.from_numpy(sets.mask),
            torch.from_numpy(sets.log_expected))


def customer_vectors(model: Recommender, fx: RecFeatures, customers: np.ndarray, t: np.ndarray,
                     content: torch.Tensor) -> torch.Tensor:
    x, store = fx.customers(customers, t)
    rows, items, weights = fx.profile(customers, t)
    profile = torch.zeros(len(customers), content.shape[1]).index_add_(
        0, torch.from_numpy(rows), torch.from_numpy(weights)[:, None] * content[torch.from_numpy(items)])
    return model.customers(torch.from_numpy(x), torch.from_numpy(store), profile)


def all_content(model: Recommender, fx: RecFeatures) -> torch.Tensor:
    return model.content(torch.from_numpy(fx.item_index), torch.from_numpy(fx.words),
                         torch.from_numpy(fx.category))


def training_tasks(history: ShopHistory, fx: RecFeatures, cfg: RecommenderConfig
                   ) -> list[tuple[int, int, np.ndarray]]:
    """(customer, origin, query positives) of every task whose window ends by E."""
    end = history.items.days - 1
    tasks = []
    for j in range(cfg.origins):
        t = end - cfg.window_days - j * cfg.origin_every_days
        if t < 1:
            break
        sellable = history.items.sellable(t)
        known = np.flatnonzero(fx.last_order_day(np.arange(len(history.purchases.customer_ids)),
                                                 np.full(len(history.purchases.customer_ids), t)) >= 0)
        for c in known:
            bought = fx.bought_between(int(c), t, t + cfg.window_days)
            bought = bought[sellable[bought]]
            if len(bought):
                tasks.append((int(c), t, bought))
    if not tasks:
        raise ValueError(f"no training task up to {history.run_date}: no customer with an order "
                         f"before and after an origin {cfg.window_days} days before the end")
    return tasks


def batch_losses(model: Recommender, fx: RecFeatures, sampler: Sampler,
                 tasks: list[tuple[int, int, np.ndarray]], cfg: RecommenderConfig,
                 inner_steps: int, batched: bool = True) -> torch.Tensor:
    customers = np.array([c for c, _, _ in tasks])
    origins = np.array([t for _, t, _ in tasks])
    content = all_content(model, fx)
    query = task_tensors(model, fx, sampler.candidates(fx, customers, origins, origins,
                                                       [p for _, _, p in tasks]), content)
    support = task_tensors(model, fx, sampler.support(fx, customers, origins), content)
    # the customer vector of the support is the one before its order; the inner loop adapts
    # the personal parameters on it, the query scores with the customer vector at t
    return task_losses(model.personal_params(), model.inner_lrs(), support, query, ranking_loss,
                       steps=inner_steps, first_order=cfg.first_order, batched=batched)


def meta_train(history: ShopHistory, cfg: RecommenderConfig, log=print,
               start_from: TrainedRecommender | None = None) -> TrainedRecommender:
    """Meta-train on the history; from ``start_from``'s weights (a model trained up to an
    earlier day) for ``warm_start_fraction`` of the steps when given (models/warm.py)."""
    rng = seed_everything(cfg.seed)
    categories = sorted(set(history.items.category))
    stores = sorted(set(history.purchases.order_store) - {""})
    items = list(history.items.item_ids)
    fx = RecFeatures(history, categories, stores, items)
    tasks = training_tasks(history, fx, cfg)
    sampler = Sampler(history, cfg, rng)
    model = Recommender(len(items), len(categories), len(stores), cfg)
    steps, started_from = warm_start(model, start_from, history.run_date, cfg, {
        "identity.weight": ("items", items), "category.weight": ("categories", categories),
        "store.weight": ("stores", stores)})
    inner_steps = cfg.inner_steps if cfg.mode == "maml" else 0
    started = time.perf_counter()

    def batch_loss() -> torch.Tensor:
        pick = rng.choice(len(tasks), size=min(cfg.tasks_per_step, len(tasks)), replace=False)
        return batch_losses(model, fx, sampler, [tasks[i] for i in pick], cfg, inner_steps).mean()

    losses = outer_loop(model, steps, cfg.learning_rate, batch_loss, log, "ranking loss")
    model.eval()
    return TrainedRecommender(
        model=model, items=items, categories=categories, stores=stores, config=cfg,
        train_start=history.items.start.isoformat(), train_end=history.run_date.isoformat(),
        data_checksum=history.checksum(),
        metrics={"tasks": len(tasks), "outer_steps": steps,
                 "final_loss": float(np.mean(losses[-50:])) if losses else float("nan"),
                 "seconds": time.perf_counter() - started},
        started_from=started_from)
