"""Every recommender lists its customers in chunks on a few threads (metrics.rank_chunks): the
lists and scores must be those of the same chunks scored one after another. (Another chunk size
may move a score in its last bits: a matrix product's blocking follows its row count.)"""
from datetime import timedelta

import numpy as np
import pytest

from models.recommender import baselines, metrics, predict, ranker


def _lists(recommend, monkeypatch, module, names, chunk, threads):
    monkeypatch.setattr(metrics, "SCORING_THREADS", threads)
    for name in names:
        monkeypatch.setattr(module, name, chunk)
    recs = recommend()
    return recs.customer_ids.tolist(), recs.item_ids.tolist(), recs.scores


def _assert_same_lists(recommend, monkeypatch, module, names=("CHUNK",)):
    in_turn = _lists(recommend, monkeypatch, module, names, 7, 1)
    threaded = _lists(recommend, monkeypatch, module, names, 7, 3)
    assert len(in_turn[0]) > 3 * 7  # several chunks, more than there are threads
    assert in_turn[:2] == threaded[:2]
    assert np.array_equal(in_turn[2], threaded[2])


@pytest.mark.parametrize("adaptation", ["model", "none", "finetune"])
def test_the_networks_lists_in_threaded_chunks_are_the_lists_of_chunks_in_turn(shop, trained, adaptation,
                                                                            monkeypatch):
    # a network's chunk runs on a pool thread, where torch's grad mode is the thread's own: the
    # scorer must turn gradients off there itself (numpy() of a tensor that needs grad fails)
    _assert_same_lists(lambda: predict.recommend(trained, shop, adaptation=adaptation),
                       monkeypatch, predict)


@pytest.mark.parametrize("name", sorted(baselines.BASELINES))
def test_the_baselines_lists_in_threaded_chunks_are_the_lists_of_chunks_in_turn(shop, name, monkeypatch):
    _assert_same_lists(lambda: baselines.recommend(shop, baselines.BASELINES[name]), monkeypatch,
                       baselines, ("CHUNK", "SPARSE_CHUNK"))


def test_the_rankers_lists_in_threaded_chunks_are_the_lists_of_chunks_in_turn(shop, monkeypatch):
    model = ranker.train(shop.until(shop.run_date - timedelta(days=20)))
    _assert_same_lists(lambda: ranker.recommend(model, shop), monkeypatch, ranker)
