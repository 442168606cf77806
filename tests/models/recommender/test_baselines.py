"""Behaviour of the baseline recommenders: the contract of a list, no leakage, direction, and a
minimum quality on the tiny shop."""
from datetime import timedelta

import numpy as np
import pytest

from models.recommender import baselines
from models.recommender.evaluate import repeat_explore, repeat_shares, rolling_origins, summary
from tests.models.recommender.conftest import with_big_orders_after


@pytest.mark.parametrize("name", list(baselines.BASELINES))
def test_lists_are_distinct_sellable_and_full(shop, name):
    recs = baselines.recommend(shop, baselines.BASELINES[name])
    sellable = set(shop.items.item_ids[shop.sellable()])
    assert len(recs.customer_ids) == len(shop.customers())
    assert recs.item_ids.shape == (len(shop.customers()), min(20, len(sellable)))
    for items, scores in zip(recs.item_ids, recs.scores):
        assert len(set(items)) == len(items) and set(items) <= sellable
        assert (np.diff(scores) <= 0).all()


@pytest.mark.parametrize("name", list(baselines.BASELINES))
def test_orders_after_d_cannot_change_the_lists_of_d(shop, name):
    d = shop.run_date - timedelta(days=20)
    changed = with_big_orders_after(shop, d)
    assert not (baselines.recommend(changed, baselines.BASELINES[name]).item_ids ==
                baselines.recommend(shop, baselines.BASELINES[name]).item_ids).all()
    before = baselines.recommend(shop.until(d), baselines.BASELINES[name])
    after = baselines.recommend(changed.until(d), baselines.BASELINES[name])
    assert (before.item_ids == after.item_ids).all()
    np.testing.assert_array_equal(before.scores, after.scores)


def test_recency_reorders_puts_a_customers_own_items_first(shop):
    rows = shop.customers()
    recs = baselines.recommend(shop, baselines.recency_reorders, rows)
    items = shop.sellable()
    bought = shop.matrix(rows, items).toarray() > 0
    for r, listed in enumerate(recs.item_ids):
        own = set(shop.items.item_ids[items][bought[r]])
        k = min(len(own), len(listed))
        assert set(listed[:k]) <= own  # own items before any filler


def test_the_most_recent_purchase_ranks_above_an_older_equal_one(shop):
    # direction: of two items bought once each, the more recent one scores higher
    rows, items = shop.customers(), shop.sellable()
    scores = baselines.reorder_scores(shop, rows, items)
    since = shop.days_since_bought(rows, items)
    counts = shop.matrix(rows, items).toarray()
    r = next(r for r in range(len(rows))
             if len(np.unique(since[r][counts[r] == 1])) >= 2)
    once = np.flatnonzero(counts[r] == 1)
    newest, oldest = once[np.argmin(since[r, once])], once[np.argmax(since[r, once])]
    assert scores[r, newest] > scores[r, oldest]


def test_reorder_baselines_beat_popularity_on_a_shop_of_reorderers(shop):
    origins = [shop.run_date - timedelta(days=60), shop.run_date - timedelta(days=31)]
    models = {name: (lambda h, c, s=baselines.BASELINES[name]: baselines.recommend(h, s, c))
              for name in ("popularity", "recency-reorders", "own-frequency")}
    results = rolling_origins(shop, origins, models, log=None)
    table = summary(results)
    recall = table["Recall@20 warm"]
    assert recall["recency-reorders"] > recall["popularity"]
    assert recall["own-frequency"] > recall["popularity"]
    assert 0 <= table.loc["recency-reorders", "catalogue coverage"] <= 1
    # where the hits come from: the parts add up, and reorder lists win on repeats
    split = repeat_explore(results)
    for seg in ("cold", "warm"):
        assert np.allclose(split[f"from repeats {seg}"] + split[f"from explore {seg}"],
                           split[f"Recall@20 {seg}"])
    assert split.loc["own-frequency", "from repeats warm"] > split.loc["popularity",
                                                                       "from repeats warm"]
    shares = repeat_shares(results)
    assert 0 < shares["warm"] < 1
    assert split.loc["own-frequency", "from repeats warm"] <= shares["warm"]


@pytest.mark.parametrize("name", ["recency-reorders", "own-frequency"])
def test_own_plus_fill_baselines_rank_as_the_dense_scores_do(shop, name):
    # the sparse ranking must give the lists and scores of top_k over the dense block,
    # ties included (many items share a popularity)
    from models.recommender.metrics import top_k

    scorer = baselines.BASELINES[name]
    assert scorer in baselines.OWN_PLUS_FILL
    rows, items = shop.customers(), shop.sellable()
    # the sparse own scores are the definition: counts x exp(-days since the latest / 60)
    counts = shop.matrix(rows, items).toarray()
    expected = counts * (np.exp(-shop.days_since_bought(rows, items) / 60.0)
                         if name == "recency-reorders" else 1.0)
    r, c, own = baselines.own_scores(shop, rows, items, recency=name == "recency-reorders")
    got = np.zeros_like(expected)
    got[r, c] = own
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert (counts[r, c] > 0).all() and len(r) == (counts > 0).sum()
    for k in (20, 3, len(items) + 5):
        recs = baselines.recommend(shop, scorer, rows, k=k)
        cols, best = top_k(scorer(shop, items)(rows), k)
        np.testing.assert_array_equal(recs.item_ids, shop.items.item_ids[items][cols])
        np.testing.assert_array_equal(recs.scores, best)
