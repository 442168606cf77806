"""Warm starts: weights carried by name, lineage recorded, still point in time, and the policy
that says when a retrain starts from scratch instead."""
from datetime import date, timedelta

import pytest
import torch

from models import registry
from models.forecaster.network import Forecaster
from models.forecaster.train import meta_train
from models.warm import copy_weights


@pytest.fixture(scope="module")
def warm_config(tiny_config):
    return tiny_config.model_copy(update={"warm_start_fraction": 0.25, "scratch_every_days": 28})


@pytest.fixture(scope="module")
def parent(trained, tmp_path_factory):
    """The earlier model as a retrain finds it: saved, then loaded (with its version)."""
    return registry.load(registry.save(trained, tmp_path_factory.mktemp("models")))


def test_embedding_rows_follow_their_names_and_new_names_keep_a_fresh_row():
    torch.manual_seed(0)
    old, new = Forecaster(2, 16, 8), Forecaster(3, 16, 8)
    fresh = new.category.weight.detach().clone()
    carried = copy_weights(new, old, {"category.weight": (["Garden", "Home"], ["Garden", "Home", "Toys"])})
    assert carried == 2
    torch.testing.assert_close(new.category.weight[:3], old.category.weight[:3])  # unseen, Garden, Home
    torch.testing.assert_close(new.category.weight[3], fresh[3])                  # Toys: new
    torch.testing.assert_close(new.head.weight, old.head.weight)
    reordered = Forecaster(2, 16, 8)
    copy_weights(reordered, old, {"category.weight": (["Garden", "Home"], ["Home", "Garden"])})
    torch.testing.assert_close(reordered.category.weight[1], old.category.weight[2])


def test_a_warm_start_records_its_lineage_and_stays_point_in_time(tmp_path, panel, parent, warm_config):
    end = date.fromisoformat(parent.train_end) + timedelta(days=7)
    warm = meta_train(panel.until(end), warm_config, log=None, start_from=parent)
    assert warm.metrics["outer_steps"] == 10  # a quarter of 40
    assert warm.started_from == {"version": parent.version, "train_end": parent.train_end,
                                 "scratch_train_end": parent.train_end}
    assert warm.started_from["train_end"] < warm.train_end
    loaded = registry.load(registry.save(warm, tmp_path))
    assert loaded.started_from == warm.started_from
    scratch = meta_train(panel.until(end), warm_config, log=None)
    assert registry.version_of(scratch) != loaded.version  # same data, other weights: other version
    with pytest.raises(ValueError, match="trained on data up to"):
        meta_train(panel.until(end - timedelta(days=14)), warm_config, log=None, start_from=warm)


def test_a_warm_start_learns_faster_than_scratch_with_as_few_steps(panel, parent, warm_config):
    end = date.fromisoformat(parent.train_end) + timedelta(days=7)
    warm = meta_train(panel.until(end), warm_config, log=None, start_from=parent)
    short = meta_train(panel.until(end), warm_config.model_copy(update={"outer_steps": 10}), log=None)
    assert warm.metrics["final_loss"] < short.metrics["final_loss"]


def test_when_a_retrain_starts_from_scratch(saved, trained, warm_config):
    end = saved.end

    def start(at, cfg=warm_config):
        parent, why = registry.warm_start_for(saved.models_dir, at, cfg, saved.checksum_at)
        return (parent.version if parent else None), why

    assert start(end + timedelta(days=7)) == (trained.version, f"warm start from {trained.version}")
    assert start(end - timedelta(days=1)) == (None, "no earlier model")  # never from the future
    assert start(end + timedelta(days=28))[0] is None                    # the cadence: from scratch
    assert start(end + timedelta(days=7), warm_config.model_copy(update={"from_scratch": True})) \
        == (None, "asked for")
    assert start(end + timedelta(days=7), warm_config.model_copy(update={"warm_start_fraction": 0})) \
        == (None, "warm starts are off")
    saved.current[end] = "reprocessed"
    parent, why = start(end + timedelta(days=7))
    assert parent is None and "changed since" in why
