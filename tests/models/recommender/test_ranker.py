"""Model-behaviour tests of the two-stage recommender (candidates, then a LightGBM ranker) on the
tiny shop: the list contract with the whole catalogue reachable, no leakage in training or
lists (a change after D is first shown to be seen by a later training), determinism, direction,
a minimum quality, and the registry round trip with the network it is trained with."""
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from models import registry, trees
from models.recommender import baselines, ranker
from models.recommender.data import history_from_frames
from models.recommender.evaluate import rolling_origins, summary
from tests.models.recommender.conftest import DAYS, START, tiny_shop_frames, \
    with_big_orders_after
from tests.models.recommender.test_model import _with_fresh_orders

END_BACK = 20  # the ranker is trained on the tiny shop up to its last day - 20
SOURCES = ("NEIGHBOUR_CANDIDATES", "NAME_CANDIDATES", "POPULAR_CANDIDATES", "CATEGORY_CANDIDATES",
           "STORE_CANDIDATES")  # the candidates' sources beside the customer's own items


@pytest.fixture(scope="module")
def model(shop) -> str:
    trained = ranker.train(shop.until(shop.run_date - timedelta(days=END_BACK)))
    assert trained is not None
    return trained


def test_lists_are_distinct_sellable_full_and_reach_beyond_the_candidates(shop, model, monkeypatch):
    history = shop.until(shop.run_date - timedelta(days=END_BACK))
    sellable = set(history.items.item_ids[history.sellable()])
    recs = ranker.recommend(model, history)
    assert list(recs.customer_ids) == list(history.purchases.customer_ids[history.customers()])
    for items, scores in zip(recs.item_ids, recs.scores):
        assert len(items) == min(20, len(sellable)) and len(set(items)) == len(items)
        assert set(items) <= sellable and (np.diff(scores) <= 0).all()
    # with a handful of candidates per customer the lists are still full: the rest of the
    # catalogue follows by recent popularity
    for name in SOURCES:
        monkeypatch.setattr(ranker, name, 1)
    few = ranker.recommend(model, history)
    signals = ranker.Signals.of(history)
    rows, cols, _, _ = signals.candidates(history.customers())
    candidates = set(zip(rows.tolist(), history.items.item_ids[signals.items[cols]]))
    outside = [(r, i) for r, items in enumerate(few.item_ids) for i in items if (r, i) not in candidates]
    assert few.item_ids.shape == recs.item_ids.shape and outside


def _one_source(shop, monkeypatch, source: str, k: int):
    """(history at D, its signals, its customers, their candidates) with every candidate source
    but ``source`` (``k`` a customer) switched off; own items are always candidates."""
    history = shop.until(shop.run_date - timedelta(days=END_BACK))
    for name in SOURCES:
        monkeypatch.setattr(ranker, name, k if name == source else 0)
    signals = ranker.Signals.of(history)
    customers = history.customers()
    return history, signals, customers, signals.candidates(customers)


def test_a_customer_is_offered_what_their_store_ordered_lately(shop, monkeypatch):
    """With the other sources switched off, what a customer is offered beyond their own items is
    their store's most ordered items of the last 30 days, best first, and only those: the two
    stores of the tiny shop are offered different items."""
    history, signals, customers, (rows, cols, _, _) = _one_source(shop, monkeypatch,
                                                                  "STORE_CANDIDATES", 3)
    own = history.purchases.orders_per_customer()  # every listed customer ordered
    assert (own[customers] > 0).all()
    store = history.purchases.latest_store()
    offered = {}
    for r, c in enumerate(customers):
        bought = set(history.events(np.array([c]), signals.items)[1].tolist())
        mine = set(cols[rows == r].tolist())
        orders = signals.store_orders[signals.store[c]]
        expected = [i for i in np.argsort(-orders, kind="stable")[:3] if orders[i] > 0]
        assert mine - bought == set(expected) - bought, (store[c], mine, bought, expected)
        offered.setdefault(store[c], set(expected))
    assert set(offered) == {"DE", "FR"} and offered["DE"] != offered["FR"]


def test_a_ranker_trained_on_other_inputs_is_refused_by_name_and_left_out_when_loaded(
        shop, trained, model, caplog):
    """A registered model from code whose ranker read other inputs: ranking with it names the
    difference, and the loaded model leaves it out (the network serves) with a warning."""
    from dataclasses import replace

    # the inputs before the customer's expected orders from their categories (decision 0059)
    older = model.replace(" category_expected category_expected_rank", "", 1)
    assert trees.inputs_of(older) == list(ranker.FEATURES[:-2])
    with pytest.raises(ValueError, match="two-stage ranker: trained on other inputs.*"
                                         "missing category_expected, category_expected_rank"):
        ranker.recommend(older, shop.until(shop.run_date - timedelta(days=END_BACK)))
    assert replace(trained, ranker=model).ranker == model
    with caplog.at_level("WARNING"):
        loaded = replace(trained, ranker=older, version="recommender-older")
    assert loaded.ranker is None
    assert "recommender-older" in caplog.text and "other inputs" in caplog.text


def test_a_customer_is_offered_items_named_like_theirs(shop, monkeypatch):
    """With the other sources switched off, what a customer is offered beyond their own items
    shares a word of its description with one of their items and scores above zero; an item
    that shares no word scores zero."""
    from models.content import word_ids

    history, signals, customers, (rows, cols, _, named) = _one_source(shop, monkeypatch,
                                                                      "NAME_CANDIDATES", 4)
    words = [set(w[w > 0].tolist()) for w in word_ids(history.items.item_name[signals.items])]
    offered = 0
    for r, c in enumerate(customers):
        bought = set(history.events(np.array([c]), signals.items)[1].tolist())
        theirs = set().union(*(words[b] for b in bought))
        mine = rows == r
        for col, score in zip(cols[mine], named[mine]):
            assert score == 0 or words[col] & theirs, (c, col)
            if col not in bought:
                assert words[col] & theirs and score > 0
                offered += 1
    assert offered


def test_orders_after_d_change_neither_training_nor_lists(shop, model):
    end = shop.run_date - timedelta(days=END_BACK)
    changed = with_big_orders_after(shop, end)
    # the same change before D is seen by the training at D ...
    assert ranker.train(with_big_orders_after(shop, end - timedelta(days=40)).until(end)) != model
    # ... after D by nothing trained or listed at D
    assert ranker.train(changed.until(end)) == model
    before, after = ranker.recommend(model, shop.until(end)), ranker.recommend(model, changed.until(end))
    assert (before.item_ids == after.item_ids).all()
    np.testing.assert_array_equal(before.scores, after.scores)


def test_the_same_history_trains_the_same_model(shop, model):
    assert ranker.train(shop.until(shop.run_date - timedelta(days=END_BACK))) == model


def test_direction_an_item_just_ordered_enters_the_list(shop, model):
    """A sellable item a customer never bought and was not offered enters their list once they
    have just ordered it five times (several customers and items)."""
    history = shop.until(shop.run_date - timedelta(days=END_BACK))
    p = history.purchases
    sellable_rows = set(history.sellable().tolist())
    sellable = {i for i, row in enumerate(history.item_rows_of_purchases) if row in sellable_rows}
    entered = []
    for c in (int(x) for x in history.customers()[:5]):
        listed = set(ranker.recommend(model, history, np.array([c])).item_ids[0])
        bought = set(p.item[p.customer == c].tolist())
        fresh = [i for i in range(len(p.item_ids))
                 if i in sellable and i not in bought and p.item_ids[i] not in listed][:3]
        for i in fresh:
            after = ranker.recommend(model, _with_fresh_orders(history, c, i), np.array([c]))
            entered.append(p.item_ids[i] in set(after.item_ids[0]))
    assert entered and all(entered), f"{entered.count(False)} of {len(entered)} fresh orders stayed out"


def test_minimum_quality_on_a_shop_of_reorderers(shop):
    """Customers who reorder their favourites: the ranker must hold the strongest simple
    baseline (own items by order count) within 10% for warm customers on so little training
    data (0.94x measured), and clearly beat popularity."""
    origins = [shop.run_date - timedelta(days=45), shop.run_date - timedelta(days=31)]
    table = summary(rolling_origins(shop, origins, {
        "popularity": lambda h, c: baselines.recommend(h, baselines.popularity, c),
        "own-frequency": lambda h, c: baselines.recommend(h, baselines.own_frequency, c),
        "two-stage": lambda h, c: ranker.recommend(ranker.train(h), h, c)}, log=None))
    warm = table["Recall@20 warm"]
    assert warm["two-stage"] >= 0.9 * warm["own-frequency"], warm.to_dict()
    assert warm["two-stage"] >= 1.2 * warm["popularity"], warm.to_dict()


def test_the_served_lists_compiled_are_lightgbms_lists(shop, model, tmp_path, monkeypatch):
    """The days a backfill serves score with the ranker compiled (``recommend_days``): the
    same items in the same order as LightGBM's, scores equal to rounding."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    trees._compile.cache_clear()  # compiled here, not remembered from another test
    ends = [shop.run_date - timedelta(days=back) for back in (END_BACK, 5)]
    for served, end in zip(ranker.recommend_days(model, shop, ends), ends):
        plain = ranker.recommend(model, shop.until(end))
        assert served.item_ids.tolist() == plain.item_ids.tolist()
        np.testing.assert_allclose(served.scores, plain.scores, rtol=1e-9)
    assert list((tmp_path / "shopcast" / "trees").glob("*.o"))  # it was the compiled ranker


def test_the_registry_keeps_the_ranker_beside_the_network(tmp_path, shop, trained, model):
    from dataclasses import replace

    history = shop.until(shop.run_date - timedelta(days=END_BACK))
    with_ranker = registry.load(registry.save(replace(trained, ranker=model, version=""), tmp_path))
    assert with_ranker.ranker == model
    np.testing.assert_array_equal(ranker.recommend(with_ranker.ranker, history).scores,
                                  ranker.recommend(model, history).scores)
    assert registry.load(registry.save(replace(trained, version=""), tmp_path / "none")).ranker is None


def test_a_capped_training_samples_customers_but_reads_everyones_signals(shop):
    """Each origin keeps at most ``customers_per_origin`` customers (decision 0032); their rows
    are the very rows the uncapped training makes of them, co-occurrence and popularity included
    (signals computed from the sample alone would differ), and the sample is seeded."""
    history = shop.until(shop.run_date - timedelta(days=END_BACK))
    x, _, groups = ranker.training_set(history, 4)
    capped_x, capped_y, capped = ranker.training_set(history, 4, customers_per_origin=15)
    assert len(capped) <= 4 * 15 < len(groups)
    assert {row.tobytes() for row in capped_x} <= {row.tobytes() for row in x}
    again = ranker.training_set(history, 4, customers_per_origin=15)
    np.testing.assert_array_equal(again[0], capped_x)
    np.testing.assert_array_equal(again[1], capped_y)


def test_ranks_and_sums_within_groups_are_pandas_own():
    """The features' numpy group ranks and sums give what pandas' groupby gives (ties included:
    the first in order ranks first), on rows sorted as candidates come."""
    import pandas as pd

    rng = np.random.default_rng(3)
    rows = np.sort(rng.integers(0, 40, 2_000))
    values = rng.integers(0, 6, len(rows)) / 5.0        # many ties and zeros
    keys = rng.integers(0, 300, len(rows))
    expected_rank = pd.Series(-values).groupby(rows).rank(method="first").to_numpy()
    expected_sum = pd.Series(values).groupby(keys).transform("sum").to_numpy()
    assert np.array_equal(ranker._rank_in_rows(rows, values), expected_rank)
    assert np.allclose(ranker._group_sums(keys, values), expected_sum, rtol=1e-12)
    table = ranker._float32_columns([np.arange(3), np.ones((3, 2)), np.array([True, False, True])])
    assert table.dtype == np.float32
    assert table.tolist() == [[0, 1, 1, 1], [1, 1, 1, 0], [2, 1, 1, 1]]
    assert ranker._float32_columns([np.zeros(0), np.zeros((0, 2))]).shape == (0, 3)  # no candidates
    assert len(ranker._rank_in_rows(np.zeros(0, int), np.zeros(0))) == 0


def test_a_customers_orders_in_a_category_raise_that_categorys_items_alone():
    """The customer's expected orders of an item (decision 0059) against a customer with no
    orders: lifted on every item of a category they bought from, by their orders there over the
    prior, alike for each item of it (invariance), and nowhere else; within a category, the
    item ordered more over the last 30 days first (direction)."""
    lines, orders, daily, catalogue = tiny_shop_frames()
    daily["category"] = np.where(daily["item_id"].str[-1].astype(int) % 2 == 0, "even", "odd")
    history = history_from_frames(lines, orders, daily, catalogue, end=START + timedelta(days=DAYS - 1))
    signals = ranker.Signals.of(history)
    n, columns = len(signals.items), np.arange(len(signals.items))
    assert len(signals.category_prior) >= 2
    # each customer's orders per category of the sellable items, counted here from the purchases
    p = history.purchases
    rows = history.item_rows_of_purchases[p.item]
    sellable = np.isin(rows, signals.items)
    bought = pd.DataFrame({"customer": p.customer[sellable], "orders": p.orders[sellable],
                           "category": np.asarray(history.items.category)[rows[sellable]]})
    per_category = bought.groupby(["customer", "category"])["orders"].sum()
    category_of = np.asarray(history.items.category)[signals.items]
    nobody = len(p.customer_ids)  # a customer code without a purchase
    without = signals.category_expected(np.full(n, nobody), columns)
    lifted = []
    for customer in (0, len(p.customer_ids) - 1):  # one who reorders, one with a single order
        lift = signals.category_expected(np.full(n, customer), columns) - without
        for name in np.unique(category_of):
            mine = per_category.get((customer, name), 0.0)
            prior = signals.category_prior[signals.category[columns[category_of == name][0]]]
            assert np.allclose(lift[category_of == name], np.log((mine + prior) / prior))
            lifted.append(mine > 0)
    assert any(lifted)
    # a shop of one category: the input is missing, not the item's popularity over again
    single = ranker.Signals.of(history_from_frames(*tiny_shop_frames(), end=history.run_date))
    customers = single.history.customers()[:50]
    rows, cols, near, named = single.candidates(customers)
    inputs = single.features(customers, rows, cols, near, named)
    assert np.isnan(inputs[:, -2:]).all() and not np.isnan(
        signals.features(customers, *signals.candidates(customers))[:, -2:]).any()
    last_30 = history.items.orders[signals.items][:, -30:].sum(axis=1)
    for k in np.unique(signals.category):
        same = signals.category[columns] == k
        order = np.argsort(-without[same], kind="stable")
        assert (np.diff(last_30[same][order]) <= 0).all()
