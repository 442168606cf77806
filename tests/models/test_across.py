"""Meta-training across two processes (torchrun; gloo on the CPU, nccl where each process has a
GPU): the processes hold the same weights after training, and the model matches the
single-process one (the same batches of tasks, split between the processes, the gradients
summed). The ``gpu`` tests run where CUDA is visible."""
from __future__ import annotations

from datetime import timedelta

import pytest
import torch

from models.across import backend_for, train_across, weights_digest
from models.forecaster.features import FeatureBuilder, training_tasks
from models.forecaster.train import batch_losses, meta_train
from tests.models.conftest import assert_same_weights


def test_nccl_only_where_every_process_has_a_gpu_of_its_own(monkeypatch):
    assert backend_for("cpu", 2) == "gloo"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert backend_for("cuda", 2) == "nccl" and backend_for("auto", 1) == "nccl"
    assert backend_for("cuda", 3) == "gloo"  # two processes would share a GPU: nccl refuses
    assert backend_for("cpu", 2) == "gloo"


@pytest.mark.slow
def test_two_processes_train_the_single_process_model(panel, tiny_config, tmp_path):
    assert_two_processes_train_the_single_process_model(panel, tiny_config, "cpu", tmp_path)


@pytest.mark.gpu
def test_two_processes_on_the_gpus_train_the_single_process_model(panel, tiny_config, tmp_path):
    assert_two_processes_train_the_single_process_model(panel, tiny_config, "cuda", tmp_path)


@pytest.mark.gpu
def test_one_process_a_gpu_under_torchrun_trains_the_in_process_model(panel, tiny_config,
                                                                       tmp_path):
    history = panel.until(panel.end - timedelta(days=28))
    cfg = tiny_config.model_copy(update={"outer_steps": 12, "device": "cuda"})
    alone = train_across(meta_train, history, cfg, processes=1, workdir=tmp_path)
    assert (tmp_path / "backend").read_text() == "nccl"
    in_process = meta_train(history, cfg, log=None)
    assert_same_weights(alone.model, in_process.model)


def assert_two_processes_train_the_single_process_model(panel, tiny_config, device, tmp_path):
    history = panel.until(panel.end - timedelta(days=28))
    cfg = tiny_config.model_copy(update={"outer_steps": 12, "device": device})
    one = meta_train(history, cfg, log=None)
    two = train_across(meta_train, history, cfg, processes=2, workdir=tmp_path)
    assert (tmp_path / "backend").read_text() == backend_for(device, 2)

    digests = {p.name: p.read_text() for p in tmp_path.glob("rank-*.sha256")}
    assert len(digests) == 2 and len(set(digests.values())) == 1  # identical weights
    assert digests["rank-0.sha256"] == weights_digest(two.model)
    assert_same_weights(two.model, one.model)  # summed in another order: float noise

    # and so the same quality on the same tasks
    categories = sorted(set(history.category))
    fb = FeatureBuilder(history, categories)
    items, origins = training_tasks(history, cfg.origin_every_days)
    with torch.no_grad():
        losses = [float(batch_losses(m.model, fb, items, origins, history.days - 1, cfg,
                                     cfg.inner_steps).mean()) for m in (one, two)]
    assert losses[1] == pytest.approx(losses[0], rel=1e-3)
    assert two.train_end == one.train_end and two.metrics["outer_steps"] == 12
