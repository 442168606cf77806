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
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from models import trees
from models.artifact import TrainedModel
from models.meta import (device_of, distributed, my_share, outer_loop, seed_everything,
                         task_losses, training_device)
from models.recommender.config import RecommenderConfig
from models.recommender.data import ShopHistory, in_sorted, position_in_runs
from models.recommender.features import RecFeatures
from models.recommender.ranker import FEATURES as RANKER_INPUTS
from models.recommender.network import Recommender, ranking_loss
from models.warm import warm_start


@dataclass(kw_only=True)
class TrainedRecommender(TrainedModel):
    # the vocabularies the network's embeddings were sized for
    items: list[str]
    categories: list[str]
    stores: list[str]
    # the two-stage recommender trained on the same history (models/recommender/ranker.py):
    # LightGBM's text model, None where it was not trained
    ranker: str | None = None

    def __post_init__(self):
        # a ranker saved by code that ranked on other inputs cannot rank now: the network
        # serves without it (the gate's two-stage candidate sits out) until the next retrain
        self.ranker = trees.kept(self.ranker, RANKER_INPUTS, self.version, "two-stage ranker")


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
                   pool_days: np.ndarray, positives: tuple[np.ndarray, np.ndarray],
                   per_customer_seed: bool = False) -> CandidateSets:
        """Positives (at most ``positives``, sampled) and negatives per task: up to a third
        from the customer's own earlier items that they did not buy again (without them the
        model never learns which past items come back), the rest half uniform over the
        sellable items and half by recent popularity. Each negative carries the log of its
        expected draws, which the loss subtracts (logQ correction), so the sampled softmax
        estimates the softmax over the whole catalogue whatever the mixture.

        ``positives`` are distinct (task, item row) pairs sorted by task. All tasks are drawn
        in a few vector operations. With ``per_customer_seed`` every draw is a hash of the
        seed, the day, the customer id and the item id (or the slot), so a customer's sample
        depends neither on who else is scored in the same call nor on how far past the cutoff
        the history was loaded; otherwise the draws come from the sampler's generator."""
        p_max, n_neg = self.cfg.positives, self.cfg.negatives
        n_tasks, n_items = len(customers), fx.n_items
        if per_customer_seed:
            ids = self.history.purchases.customer_ids[customers]
            customer_hash = np.array([zlib.crc32(str(c).encode()) for c in ids], np.uint64)

            def draw(task: np.ndarray, key: np.ndarray, salt: int) -> np.ndarray:
                return hashed_uniform(self.cfg.seed, pool_days[task], customer_hash[task],
                                      salt, key)
        else:
            def draw(task: np.ndarray, key: np.ndarray, salt: int) -> np.ndarray:
                return self.rng.random(len(task))

        # positives: a random p_max of them where there are more
        pos_task, pos_item = _first_per_task(
            *positives, draw(positives[0], fx.item_key[positives[1]], 1), p_max)
        pos_rank = position_in_runs(pos_task)
        pos_keys = np.sort(pos_task * n_items + pos_item)
        # the own pool: items bought up to the cutoff, less the positives
        own_task, own_item = fx.bought_in(customers, np.full(n_tasks, -1), cutoffs)
        keep = ~in_sorted(own_task * n_items + own_item, pos_keys)
        own_task, own_item = own_task[keep], own_item[keep]
        own_keys = own_task * n_items + own_item
        pool_size = np.bincount(own_task, minlength=n_tasks)
        n_own = np.minimum(pool_size, n_neg // 3)
        chosen_task, chosen_item = _first_per_task(own_task, own_item, draw(own_task, fx.item_key[own_item], 2),
                                                   n_neg // 3)
        negatives = np.zeros((n_tasks, n_neg), np.int64)
        negatives[chosen_task, position_in_runs(chosen_task)] = chosen_item
        # the rest: half uniform over the sellable items, half by recent popularity
        rest = n_neg - n_own
        n_uniform, n_popular = rest - rest // 2, rest // 2
        slot = np.arange(n_neg)[None, :]
        is_uniform = (slot >= n_own[:, None]) & (slot < (n_own + n_uniform)[:, None])
        is_popular = slot >= (n_own + n_uniform)[:, None]
        task_of_slot = np.repeat(np.arange(n_tasks), n_neg)
        u = draw(task_of_slot, np.tile(np.arange(n_neg), n_tasks), 3).reshape(n_tasks, n_neg)
        expected = np.zeros((n_tasks, n_neg))
        drawn = np.ones((n_tasks, n_neg), bool)
        for day in np.unique(pool_days):
            at = np.flatnonzero(pool_days == day)
            rows, weights, popularity = self.pool(int(day))
            if not len(rows):  # nothing sellable that day: only own items
                drawn[at] = ~(is_uniform[at] | is_popular[at])
                continue
            uniform = rows[np.minimum((u[at] * len(rows)).astype(np.int64), len(rows) - 1)]
            cdf = np.cumsum(weights)
            popular = rows[np.minimum(np.searchsorted(cdf, u[at] * cdf[-1], side="right"),
                                      len(rows) - 1)]
            negatives[at] = np.where(is_uniform[at], uniform,
                                     np.where(is_popular[at], popular, negatives[at]))
            expected[at] = (n_uniform[at, None] / len(rows)
                            + n_popular[at, None] * popularity[negatives[at]])
        neg_keys = np.arange(n_tasks)[:, None] * n_items + negatives
        expected += in_sorted(neg_keys, own_keys) * (n_own / np.maximum(pool_size, 1))[:, None]
        # a drawn negative that is a positive is dropped; the kept ones move to the front
        kept = drawn & ~in_sorted(neg_keys, pos_keys)
        order = np.argsort(~kept, axis=1, kind="stable")
        kept = np.take_along_axis(kept, order, axis=1)

        items = np.zeros((n_tasks, p_max + n_neg), np.int64)
        positive = np.zeros(items.shape, np.float32)
        mask = np.zeros(items.shape, np.float32)
        log_expected = np.zeros(items.shape, np.float32)
        items[pos_task, pos_rank], positive[pos_task, pos_rank] = pos_item, 1.0
        mask[pos_task, pos_rank] = 1.0
        items[:, p_max:] = np.where(kept, np.take_along_axis(negatives, order, axis=1), 0)
        mask[:, p_max:] = kept
        log_expected[:, p_max:] = np.where(
            kept, np.log(np.maximum(np.take_along_axis(expected, order, axis=1), 1e-12)), 0.0)
        return CandidateSets(customers, cutoffs, items, positive, mask, log_expected)

    def support(self, fx: RecFeatures, customers: np.ndarray, t: np.ndarray,
                per_customer_seed: bool = False) -> CandidateSets:
        """Each customer's latest order up to t, as seen the day before it."""
        t = np.broadcast_to(np.asarray(t), np.shape(customers))
        last = fx.last_order_day(customers, t)
        # a customer without an order up to t (last = -1) gets the empty range (-1, -1]
        positives = fx.bought_in(customers, np.where(last >= 0, last - 1, -1), last)
        return self.candidates(fx, customers, np.maximum(last - 1, 0), t, positives,
                               per_customer_seed)


def hashed_uniform(*parts) -> np.ndarray:
    """Uniform draws in [0, 1), one per element of the broadcast integer parts: a splitmix64
    hash of them, so a draw depends only on its own key (a counter-based generator)."""
    h = np.zeros(np.broadcast_shapes(*(np.shape(p) for p in parts)), np.uint64)
    for part in parts:
        h = h + np.asarray(part).astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        h = h ^ (h >> np.uint64(31))
    return (h >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def _by_task_then_draw(task: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``np.lexsort((u, task))``. Draws are multiples of 2**-53 in [0, 1) (``hashed_uniform``
    and numpy's ``random``): with fewer than 1,024 tasks, task and draw pack into one 64-bit key
    whose stable sort is the same order, five times faster (the scoring of a block of 1,024
    customers sorts their own items, a quarter of a million at a year of history)."""
    scaled = u * 2.0 ** 53
    draws = scaled.astype(np.int64)
    if len(task) and 0 <= task.min() and task.max() < 1 << 10 and (draws == scaled).all():
        return np.argsort((task.astype(np.int64) << 53) + draws, kind="stable")
    return np.lexsort((u, task))


def _first_per_task(task: np.ndarray, item: np.ndarray, u: np.ndarray, most: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """A uniformly random ``most`` of each task's items (all where it has fewer): the ones
    with the smallest draws ``u``; returned sorted by task."""
    order = _by_task_then_draw(task, u)
    task, item = task[order], item[order]
    first = position_in_runs(task) < most
    return task[first], item[first]


def task_tensors(model: Recommender, fx: RecFeatures, sets: CandidateSets,
                 content: torch.Tensor) -> tuple:
    """The network's view of candidate sets: (u, v, b, r, positive, mask, log_expected), task
    axis first."""
    b, k = sets.items.shape
    on = _tensors_on(device_of(model))
    flat_t = np.repeat(sets.cutoff, k)
    item_x, pair_x, rows = on(fx.items(sets.items.ravel(), flat_t),
                              fx.pairs(np.repeat(sets.customers, k), sets.items.ravel(), flat_t),
                              sets.items.ravel())
    v, bias = model.items(item_x, content[rows])
    r = model.repeat(pair_x)
    u = customer_vectors(model, fx, sets.customers, sets.cutoff, content)
    return (u, v.view(b, k, -1), bias.view(b, k), r.view(b, k, -1),
            *on(sets.positive, sets.mask, sets.log_expected))


def _tensors_on(device: torch.device):
    """Arrays as tensors on the model's device (the CPU's own memory when it is the CPU)."""
    return lambda *arrays: tuple(torch.from_numpy(a).to(device) for a in arrays)


def customer_vectors(model: Recommender, fx: RecFeatures, customers: np.ndarray, t: np.ndarray,
                     content: torch.Tensor) -> torch.Tensor:
    device = device_of(model)
    on = _tensors_on(device)
    x, store = fx.customers(customers, t)
    profile = torch.sparse.mm(profile_mix(fx, customers, t, content.shape[0], device), content)
    return model.customers(*on(x, store), profile)


def profile_mix(fx: RecFeatures, customers: np.ndarray, t: np.ndarray, n_items: int,
                device: torch.device) -> torch.Tensor:
    """The weighted mix of the items each customer bought, a sparse (customers x items)
    matrix: one product with the items' content rather than a row of content per event.
    The profile's entries are a valid CSR matrix's (``RecFeatures.profile``: one per customer
    and item, items ascending, 64-bit like the row starts): CUDA's sparse product read out of
    bounds on an H200 when they were not (the CPU's did not mind)."""
    rows, items, weights = fx.profile(customers, t)
    starts = np.r_[0, np.cumsum(np.bincount(rows, minlength=len(customers)))]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(*_tensors_on(device)(starts, items, weights),
                                       (len(customers), n_items),
                                       check_invariants=False)  # valid by construction: tested


def all_content(model: Recommender, fx: RecFeatures) -> torch.Tensor:
    return model.content(*_tensors_on(device_of(model))(fx.item_index, fx.words, fx.category))


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
        everyone = np.arange(len(history.purchases.customer_ids))
        known = np.flatnonzero(fx.last_order_day(everyone, np.full(len(everyone), t)) >= 0)
        owner, bought = fx.bought_in(known, np.full(len(known), t),
                                     np.full(len(known), t + cfg.window_days))
        owner, bought = owner[sellable[bought]], bought[sellable[bought]]
        bounds = np.searchsorted(owner, np.arange(len(known) + 1))
        tasks += [(int(known[k]), t, bought[bounds[k]:bounds[k + 1]])
                  for k in np.flatnonzero(np.diff(bounds))]
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
    positives = (np.repeat(np.arange(len(tasks)), [len(p) for _, _, p in tasks]),
                 np.concatenate([p for _, _, p in tasks]))
    query = task_tensors(model, fx, sampler.candidates(fx, customers, origins, origins,
                                                       positives), content)
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
    stores = history.purchases.stores()
    items = list(history.items.item_ids)
    fx = RecFeatures(history, categories, stores, items)
    tasks = training_tasks(history, fx, cfg)
    # the tasks are drawn alike in every process of a distributed training (``rng``); each
    # process draws its own share's samples from its own stream
    sampler = Sampler(history, cfg, np.random.default_rng([cfg.seed, distributed()[0]]))
    model = Recommender(len(items), len(categories), len(stores), cfg)
    steps, started_from = warm_start(model, start_from, history.run_date, cfg, {
        "identity.weight": ("items", items), "category.weight": ("categories", categories),
        "store.weight": ("stores", stores)})
    device = training_device(cfg.device)
    model.to(device)  # after the warm start, which copies the parent's CPU weights
    inner_steps = cfg.inner_steps if cfg.mode == "maml" else 0
    started = time.perf_counter()

    def batch_loss() -> torch.Tensor:
        pick = rng.choice(len(tasks), size=min(cfg.tasks_per_step, len(tasks)), replace=False)
        mine = my_share(pick)  # all of it in one process
        if len(mine) == 0:
            return torch.zeros((), device=device)
        return batch_losses(model, fx, sampler, [tasks[i] for i in mine], cfg,
                            inner_steps).sum() / len(pick)

    losses = outer_loop(model, steps, cfg.learning_rate, batch_loss, log, "ranking loss")
    model.cpu().eval()  # predictions and artifacts are on the CPU
    return TrainedRecommender(
        model=model, items=items, categories=categories, stores=stores, config=cfg,
        train_start=history.items.start.isoformat(), train_end=history.run_date.isoformat(),
        data_checksum=history.checksum(),
        metrics={"tasks": len(tasks), "outer_steps": steps,
                 "final_loss": float(np.mean(losses[-50:])) if losses else float("nan"),
                 "seconds": time.perf_counter() - started},
        started_from=started_from)
