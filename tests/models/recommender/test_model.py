"""Model-behaviour tests of the meta-learned recommender on the tiny shop: the list contract, no
leakage (in training and in prediction), adaptation, batching, determinism, direction, a
minimum quality, and the registry round trip."""
from dataclasses import replace
from datetime import timedelta

import numpy as np
import torch

from models import registry
from models.meta import adapt
from models.recommender import baselines
from models.recommender.evaluate import rolling_origins, summary
from models.recommender.features import RecFeatures
from models.recommender.network import ranking_loss
from models.recommender.predict import recommend
from models.recommender.train import (
    Sampler,
    all_content,
    batch_losses,
    meta_train,
    task_tensors,
    training_tasks,
)
from tests.models.recommender.conftest import with_big_orders_after


def _weights(trained):
    return {k: v.detach().clone() for k, v in trained.model.state_dict().items()}


def test_lists_are_distinct_sellable_and_full(shop, trained):
    history = shop.until(shop.run_date - timedelta(days=20))
    recs = recommend(trained, history)
    sellable = set(history.items.item_ids[history.sellable()])
    assert list(recs.customer_ids) == list(history.purchases.customer_ids[history.customers()])
    assert recs.item_ids.shape[1] == min(20, len(sellable))
    for items, scores in zip(recs.item_ids, recs.scores):
        assert len(set(items)) == len(items) and set(items) <= sellable
        assert np.isfinite(scores).all() and (np.diff(scores) <= 0).all()


def test_orders_after_d_change_neither_training_nor_lists(shop, trained, tiny_config):
    end = shop.run_date - timedelta(days=20)
    changed = with_big_orders_after(shop, end)
    again = meta_train(changed.until(end), tiny_config, log=None)
    for name, value in _weights(trained).items():
        torch.testing.assert_close(value, again.model.state_dict()[name], rtol=0, atol=0)
    before, after = recommend(trained, shop.until(end)), recommend(again, changed.until(end))
    assert (before.item_ids == after.item_ids).all()
    np.testing.assert_array_equal(before.scores, after.scores)


def test_a_fixed_seed_gives_the_same_model_and_another_seed_does_not(shop, trained, tiny_config):
    history = shop.until(shop.run_date - timedelta(days=20))
    same = meta_train(history, tiny_config, log=None)
    other = meta_train(history, tiny_config.model_copy(update={"seed": 2}), log=None)
    w, w_same, w_other = _weights(trained), _weights(same), _weights(other)
    assert all(torch.equal(w[k], w_same[k]) for k in w)
    assert not all(torch.equal(w[k], w_other[k]) for k in w)
    assert (recommend(trained, history).item_ids == recommend(same, history).item_ids).all()


def _support(trained, history, customers):
    fx = RecFeatures(history, trained.categories, trained.stores, trained.items)
    sampler = Sampler(history, trained.config, np.random.default_rng(0))
    t = history.items.days - 1
    with torch.no_grad():
        content = all_content(trained.model, fx)
        return task_tensors(trained.model, fx, sampler.support(fx, customers, t, True), content)


def test_adaptation_reduces_support_loss(shop, trained):
    history = shop.until(shop.run_date - timedelta(days=20))
    customers = history.customers()
    support = _support(trained, history, customers)
    shared, lrs = trained.model.personal_params(), trained.model.inner_lrs()
    before, after = [], []
    for b in range(len(customers)):
        task = tuple(x[b] for x in support)
        with torch.no_grad():
            adapted = adapt(shared, lrs, task, ranking_loss, trained.config.inner_steps)
            before.append(float(ranking_loss(shared, task)))
            after.append(float(ranking_loss(adapted, task)))
    before, after = np.array(before), np.array(after)
    assert after.mean() < before.mean()
    assert (after < before).mean() > 0.8


def test_vmapped_inner_loop_equals_the_per_task_loop(shop, trained):
    history = shop.until(shop.run_date - timedelta(days=20))
    cfg = trained.config
    fx = RecFeatures(history, trained.categories, trained.stores, trained.items)
    tasks = training_tasks(history, fx, cfg)[:12]
    for first_order in (False, True):
        c = cfg.model_copy(update={"first_order": first_order})
        losses = [batch_losses(trained.model, fx, Sampler(history, c, np.random.default_rng(5)),
                               tasks, c, c.inner_steps, batched=batched)
                  for batched in (True, False)]
        torch.testing.assert_close(losses[0], losses[1], rtol=1e-4, atol=1e-5)


def _with_fresh_orders(history, c: int, i: int, orders: float = 5.0):
    """The history with customer c ordering item i ``orders`` times on D."""
    p = history.purchases
    return replace(history, purchases=replace(
        p, customer=np.r_[p.customer, c], item=np.r_[p.item, i],
        day=np.r_[p.day, history.column], orders=np.r_[p.orders, np.float32(orders)],
        order_customer=np.r_[p.order_customer, c], order_day=np.r_[p.order_day, history.column],
        order_count=np.r_[p.order_count, np.float32(orders)],
        order_store=np.append(p.order_store, list(p.store_ids).index("DE"))))


def test_direction_an_item_just_ordered_enters_the_list(shop, trained):
    """Direction: a sellable item a customer never bought and was not offered enters their
    list once they have just ordered it five times (for each of several customers and items)."""
    history = shop.until(shop.run_date - timedelta(days=20))
    p = history.purchases
    sellable_rows = set(history.sellable().tolist())
    sellable = {i for i, row in enumerate(history.item_rows_of_purchases) if row in sellable_rows}
    entered = []
    for c in (int(x) for x in history.customers()[:5]):
        listed = set(recommend(trained, history, np.array([c])).item_ids[0])
        bought = set(p.item[p.customer == c].tolist())
        candidates = [i for i in range(len(p.item_ids))
                      if i in sellable and i not in bought and p.item_ids[i] not in listed][:4]
        assert candidates, f"customer {c} has no candidate item"
        for i in candidates:
            after = recommend(trained, _with_fresh_orders(history, c, i), np.array([c]))
            entered.append(p.item_ids[i] in set(after.item_ids[0]))
    assert all(entered), f"{entered.count(False)} of {len(entered)} fresh reorders stayed out"


def test_minimum_quality_near_the_reorder_baseline_on_a_shop_of_reorderers(shop, tiny_config):
    """On customers who reorder their favourites, the meta-learned model must come within 10% of
    the strongest simple baseline (own items by order count) for warm customers and clearly beat
    popularity; a model that only beat popularity would fail."""
    origins = [shop.run_date - timedelta(days=45), shop.run_date - timedelta(days=31)]
    cache = {}

    def model(history, customers):
        if history.run_date not in cache:
            cache[history.run_date] = meta_train(history, tiny_config, log=None)
        return recommend(cache[history.run_date], history, customers)

    table = summary(rolling_origins(shop, origins, {
        "popularity": lambda h, c: baselines.recommend(h, baselines.popularity, c),
        "own-frequency": lambda h, c: baselines.recommend(h, baselines.own_frequency, c),
        "meta": model}, log=None))
    warm = table["Recall@20 warm"]
    assert warm["meta"] >= 0.9 * warm["own-frequency"], warm.to_dict()
    assert warm["meta"] >= 1.2 * warm["popularity"], warm.to_dict()


def test_registry_round_trip_gives_the_same_lists(tmp_path, shop, trained):
    path = registry.save(trained, tmp_path)
    assert path.parent.name == "recommender" and path.name.startswith("recommender-maml-")
    loaded = registry.load(path)
    history = shop.until(shop.run_date - timedelta(days=20))
    a, b = recommend(trained, history), recommend(loaded, history)
    assert (a.item_ids == b.item_ids).all()
    np.testing.assert_array_equal(a.scores, b.scores)


def test_days_sharing_a_model_are_scored_in_one_pass_as_day_by_day(tiny_config):
    """The lists of each day from one history loaded past it equal those of the history cut at
    the day, also where items unknown at the day sort before known ones (the rows shift)."""
    from models.recommender.data import history_from_frames
    from models.recommender.predict import recommend_days
    from tests.models.recommender.conftest import DAYS, START, tiny_shop_frames

    lines, orders, daily, catalogue = tiny_shop_frames()
    late = {f"I{i:03d}": f"A{i:03d}" for i in range(42, 50)}  # launched late; now sort first
    lines["item_id"], daily["item_id"] = lines["item_id"].replace(late), daily["item_id"].replace(late)
    shop = history_from_frames(lines, orders, daily, catalogue, end=START + timedelta(days=DAYS - 1))
    end = shop.run_date - timedelta(days=30)
    model = meta_train(shop.until(end), tiny_config, log=None)
    days = [end, end + timedelta(days=10), end + timedelta(days=25)]
    assert shop.until(days[0]).items.item_ids[0] != shop.items.item_ids[0]  # rows do shift
    for d, batched in zip(days, recommend_days(model, shop, days)):
        alone = recommend(model, shop.until(d))
        assert list(batched.customer_ids) == list(alone.customer_ids)
        assert (batched.item_ids == alone.item_ids).all()
        np.testing.assert_allclose(batched.scores, alone.scores, rtol=1e-5, atol=1e-6)
