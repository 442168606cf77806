"""Where meta-training's tensors live (``models.meta.training_device``), and a training on a
GPU: the same model as on the CPU within float noise, handed back on the CPU. The GPU tests run
where CUDA is visible (``-m gpu``; tests/conftest.py skips them elsewhere)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import torch

from models.forecaster.train import meta_train
from models.meta import training_device
from tests.models.conftest import assert_the_gpu_trains_the_cpu_model


def test_cpu_is_the_cpu_and_auto_is_the_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert training_device("cpu") == torch.device("cpu")
    assert training_device("auto") == torch.device("cpu")


def test_asking_for_a_gpu_where_there_is_none_is_an_error_not_a_cpu_training(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        training_device("cuda")
    with pytest.raises(ValueError, match="one of cpu, cuda, auto"):
        training_device("gpu")


def test_each_torchrun_process_takes_its_own_gpu_in_turn(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    for local_rank, index in [("0", 0), ("1", 1), ("2", 0)]:
        monkeypatch.setenv("LOCAL_RANK", local_rank)
        assert training_device("cuda") == torch.device("cuda", index)
    assert training_device("auto") == torch.device("cuda", 0)


def test_the_device_is_not_part_of_the_model_version(tiny_config):
    on_gpu = tiny_config.model_copy(update={"device": "cuda"})
    assert on_gpu.training_fields() == tiny_config.training_fields()


@pytest.mark.gpu
@pytest.mark.parametrize("mode", ["maml", "pooled"])
def test_a_forecaster_trained_on_the_gpu_is_the_cpu_one_and_comes_back_on_the_cpu(
        panel, tiny_config, mode):
    assert_the_gpu_trains_the_cpu_model(meta_train, panel.until(panel.end - timedelta(days=28)),
                                        tiny_config.model_copy(update={"outer_steps": 12,
                                                                       "mode": mode}))
