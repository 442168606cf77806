"""Realised quality: what was published at an origin, scored once its actuals exist, beside the
same day's baseline, with the benchmark's own metric code."""
from __future__ import annotations

import json
from datetime import timedelta

import numpy as np

from models.forecaster import evaluate as forecast_evaluate
from models.forecaster.baselines import ses, zero
from models.recommender import evaluate as recommend_evaluate
from models.recommender.baselines import BASELINES, FALLBACK, recommend
from tests.models.recommender.conftest import shop  # noqa: F401 (a fixture)


def test_a_published_baseline_scores_as_the_baseline_and_a_worse_forecast_scores_worse(panel):
    origin = panel.end - timedelta(days=28)
    history = panel.until(origin)
    same = forecast_evaluate.realised(panel, origin, ses(history), ses)
    assert same["model"] == same["baseline"]
    worse = forecast_evaluate.realised(panel, origin, zero(history), ses)
    assert worse["model"]["all"]["wrmsse"] > worse["baseline"]["all"]["wrmsse"]
    assert worse["baseline"]["all"]["items"] > 0


def test_published_lists_are_scored_on_their_scored_customers_only(shop):  # noqa: F811
    origin = shop.run_date - timedelta(days=30)
    history = shop.until(origin)
    fallback = BASELINES[FALLBACK]
    everyone = recommend(history, fallback)
    scoring = recommend_evaluate.OriginScoring.at(shop, origin)
    out = recommend_evaluate.realised(scoring, everyone, lambda h, c: recommend(h, fallback, c))
    assert out["model"]["all"]["customers"] > 0
    assert out["model"] == out["baseline"]
    popular = recommend(history, BASELINES["popularity"])
    worse = recommend_evaluate.realised(scoring, popular, lambda h, c: recommend(h, fallback, c))
    assert worse["model"]["warm"]["recall_at_20"] < worse["baseline"]["warm"]["recall_at_20"]
    assert np.isfinite(worse["model"]["cold"]["ndcg_at_20"])


def test_a_sample_of_customers_scores_the_same_lists_for_both_and_is_seeded(shop):  # noqa: F811
    origin = shop.run_date - timedelta(days=30)
    fallback = BASELINES[FALLBACK]
    lists = recommend(shop.until(origin), BASELINES["popularity"])
    baseline = lambda h, c: recommend(h, fallback, c)  # noqa: E731
    full = recommend_evaluate.realised(recommend_evaluate.OriginScoring.at(shop, origin), lists, baseline)
    sample = recommend_evaluate.OriginScoring.at(shop, origin, max_customers=10)
    some = recommend_evaluate.realised(sample, lists, baseline)
    assert some["model"]["all"]["customers"] == some["baseline"]["all"]["customers"] == 10
    assert full["model"]["all"]["customers"] > 10
    again = recommend_evaluate.realised(recommend_evaluate.OriginScoring.at(shop, origin, 10), lists, baseline)
    assert json.dumps(some) == json.dumps(again)  # the same sample (NaN where no cold item was listed)


def test_a_sample_is_scored_as_the_whole_history_would_score_the_same_customers(shop):  # noqa: F811
    """A sample keeps only its customers' purchases (cheap at a year of a large shop): their
    relevant sets, segments, earlier items and the fallback's lists are the same as from the
    whole history."""
    origin = shop.run_date - timedelta(days=30)
    fallback = BASELINES[FALLBACK]
    sample = recommend_evaluate.OriginScoring.at(shop, origin, max_customers=25)
    whole = recommend_evaluate.OriginScoring.at(shop, origin)
    assert len(sample.customers) == 25 and len(whole.customers) > 25
    assert len(sample.history.purchases.customer) < len(whole.history.purchases.customer)
    rows = np.searchsorted(whole.customers, sample.customers)
    assert (whole.customers[rows] == sample.customers).all()
    ids = list(sample.customer_ids)
    assert sample.relevant == {c: whole.relevant[c] for c in ids if c in whole.relevant}
    assert sample.before == {c: whole.before[c] for c in ids}
    assert sample.segment == {c: whole.segment[c] for c in ids}
    assert list(sample.sellable) == list(whole.sellable) and sample.cold == whole.cold
    mine, theirs = (recommend(s.history, fallback, sample.customers) for s in (sample, whole))
    assert (mine.item_ids == theirs.item_ids).all() and np.allclose(mine.scores, theirs.scores)
    lists = recommend(shop.until(origin), BASELINES["popularity"])
    restricted = recommend_evaluate.realised(sample, lists, lambda h, c: recommend(h, fallback, c))
    keep = np.isin(whole.customers, sample.customers)
    same = recommend_evaluate.OriginScoring(whole.history, sample.customers,
                                            {c: whole.relevant[c] for c in ids},
                                            {c: whole.segment[c] for c in ids}, whole.sellable,
                                            whole.cold, {c: whole.before[c] for c in ids})
    assert keep.sum() == 25
    assert json.dumps(restricted) == json.dumps(recommend_evaluate.realised(
        same, lists, lambda h, c: recommend(h, fallback, c)))
