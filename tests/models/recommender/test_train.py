"""The candidate sampler of meta-training and prediction: what a support or query set may
contain, the logQ weights it carries, and draws that depend on their own key only; a training
on a GPU (``gpu``: where CUDA is visible) gives the CPU's network."""
from datetime import timedelta

import numpy as np
import pytest
import torch

from models.recommender.features import RecFeatures
from models.recommender.predict import recommend
from models.recommender.train import (Sampler, hashed_uniform, meta_train, profile_mix,
                                      training_tasks)
from tests.models.conftest import assert_the_gpu_trains_the_cpu_model


def _setup(shop, trained):
    history = shop.until(shop.run_date - timedelta(days=20))
    fx = RecFeatures(history, trained.categories, trained.stores, trained.items)
    return history, fx


def test_hashed_draws_are_uniform_and_depend_only_on_their_key():
    keys = np.arange(200_000)
    u = hashed_uniform(7, 3, keys)
    assert 0 <= u.min() and u.max() < 1
    # ten equal bins each hold a tenth, within 2% of it
    np.testing.assert_allclose(np.bincount((u * 10).astype(int)) / len(u), 0.1, rtol=0.02)
    np.testing.assert_array_equal(hashed_uniform(7, 3, keys[::-1]), u[::-1])
    assert not np.array_equal(hashed_uniform(8, 3, keys), u)
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01


def test_query_sets_hold_the_positives_and_negatives_drawn_as_configured(shop, trained):
    history, fx = _setup(shop, trained)
    cfg = trained.config
    tasks = training_tasks(history, fx, cfg)[:64]
    positives = (np.repeat(np.arange(len(tasks)), [len(p) for _, _, p in tasks]),
                 np.concatenate([p for _, _, p in tasks]))
    origins = np.array([t for _, t, _ in tasks])
    customers = np.array([c for c, _, _ in tasks])
    sets = Sampler(history, cfg, np.random.default_rng(0)).candidates(
        fx, customers, origins, origins, positives)
    for b, (c, t, bought) in enumerate(tasks):
        pos = sets.items[b, :cfg.positives][sets.mask[b, :cfg.positives] > 0]
        neg = sets.items[b, cfg.positives:][sets.mask[b, cfg.positives:] > 0]
        assert len(pos) == min(len(bought), cfg.positives) and set(pos) <= set(bought)
        assert (sets.positive[b, :cfg.positives] == sets.mask[b, :cfg.positives]).all()
        assert not set(neg) & set(pos), "a positive was also drawn as a negative"
        # kept negatives come first, padding after them
        assert (np.diff(sets.mask[b, cfg.positives:]) <= 0).all()
        own = fx.bought_in(np.array([c]), np.array([-1]), np.array([t]))[1]
        assert np.isin(neg, own).sum() >= min(len(np.setdiff1d(own, pos)), cfg.negatives // 3)
        sellable = set(np.flatnonzero(history.items.sellable(t))) | set(own)
        assert set(neg) <= sellable
        assert np.isfinite(sets.log_expected[b]).all() and (sets.log_expected[b, :cfg.positives] == 0).all()


def test_a_customers_list_does_not_depend_on_who_else_is_scored(shop, trained):
    history, _ = _setup(shop, trained)
    everyone = recommend(trained, history)
    some = history.customers()[::-3]  # a third of them, in another order
    alone = recommend(trained, history, some)
    at = {c: i for i, c in enumerate(everyone.customer_ids)}
    rows = [at[c] for c in alone.customer_ids]
    np.testing.assert_array_equal(alone.item_ids, everyone.item_ids[rows])
    np.testing.assert_allclose(alone.scores, everyone.scores[rows], rtol=1e-5)


def test_own_items_draw_in_the_order_of_a_lexsort_on_task_then_draw_whatever_the_draws():
    from models.recommender.train import _by_task_then_draw

    rng = np.random.default_rng(5)
    for tasks in (1023, 5000):  # the packed key, and the fallback past 1,024 tasks
        task = np.sort(rng.integers(0, tasks, 20_000))
        for u in (hashed_uniform(1, task, np.arange(len(task))), rng.random(len(task)),
                  rng.integers(0, 50, len(task)) / 64.0,  # ties within a task
                  rng.random(len(task)) / 3.0):  # not multiples of 2**-53: the fallback
            np.testing.assert_array_equal(_by_task_then_draw(task, u), np.lexsort((u, task)))


def test_the_profile_mix_is_a_valid_csr_matrix(shop, trained):
    """Built without torch's checks for speed. Its columns used to repeat (an entry per
    event), unsorted, in another integer type than its rows: the CPU's product forgave that,
    CUDA's read out of bounds."""
    history, fx = _setup(shop, trained)
    customers = np.arange(len(history.purchases.customer_ids))
    t = np.full(len(customers), history.items.days - 1)
    mix = profile_mix(fx, customers, t, len(trained.items) + 1, torch.device("cpu"))
    torch.sparse_csr_tensor(mix.crow_indices(), mix.col_indices(), mix.values(), mix.shape,
                            check_invariants=True)  # raises on a broken matrix
    assert mix._nnz() > 0 and mix.to_dense().sum(1).max() <= 1 + 1e-5


@pytest.mark.gpu
def test_a_network_trained_on_the_gpu_is_the_cpu_one_and_comes_back_on_the_cpu(shop, tiny_config):
    assert_the_gpu_trains_the_cpu_model(meta_train, shop.until(shop.run_date - timedelta(days=20)),
                                        tiny_config.model_copy(update={"outer_steps": 10}))
