"""A tiny demand panel with known structure: weekly pattern, steady, new and listed items."""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import torch

from models.forecaster.config import ForecasterConfig
from models.panel import DemandPanel, panel_from_frames

START = date(2024, 1, 1)  # a Monday
DAYS = 140


def tiny_frames(items: int = 60, days: int = DAYS, seed: int = 0):
    rng = np.random.default_rng(seed)
    rows = []
    weekly = np.array([1.2, 1.0, 1.0, 1.0, 1.1, 0.2, 0.5])
    for i in range(items):
        level = rng.gamma(2.0, 1.5)
        first = 0 if i < items * 2 // 3 else int(rng.integers(days - 40, days - 3))
        for d in range(first, days):
            u = rng.poisson(level * weekly[(START + timedelta(days=d)).weekday()])
            if u:
                rows.append((f"{10000 + i}", START + timedelta(days=d), float(u), 2.5 * u,
                             "Home" if i % 2 else "Garden"))
    daily = pd.DataFrame(rows, columns=["item_id", "order_date", "units", "revenue", "category"])
    catalogue = pd.DataFrame({"item_id": ["99999"], "launch_date": [START + timedelta(days=days - 5)],
                              "list_price": [4.0], "category": ["Home"]})
    return daily, catalogue


@pytest.fixture(scope="session")
def panel() -> DemandPanel:
    daily, catalogue = tiny_frames()
    return panel_from_frames(daily, catalogue, start=START, end=START + timedelta(days=DAYS - 1))


@pytest.fixture(scope="session")
def tiny_config() -> ForecasterConfig:
    return ForecasterConfig(hidden=32, embedding=16, outer_steps=40, tasks_per_step=64, seed=3)


@pytest.fixture(scope="session")
def trained(panel, tiny_config):
    from models.forecaster.train import meta_train

    return meta_train(panel.until(panel.end - timedelta(days=28)), tiny_config, log=None)


@pytest.fixture
def saved(tmp_path, trained):
    """``trained`` in a registry folder, with the warehouse's data checksums as a test sets them
    (``saved.current[day] = ...``; a day not set has other data than any model saw)."""
    from types import SimpleNamespace

    from models import registry

    registry.save(trained, tmp_path)
    end = date.fromisoformat(trained.train_end)
    current = {end: trained.data_checksum}
    return SimpleNamespace(models_dir=tmp_path, end=end, current=current,
                           checksum_at=lambda d: current.get(d, "other"))


def assert_same_weights(model: torch.nn.Module, reference: torch.nn.Module) -> None:
    """Equal within float noise: the same training summed in another order or on other kernels."""
    for name, tensor in reference.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], tensor, atol=2e-4, rtol=1e-3)


def assert_the_gpu_trains_the_cpu_model(meta_train, history, cfg) -> None:
    """``meta_train`` on the GPU gives the CPU's model, handed back on the CPU."""
    on_cpu = meta_train(history, cfg, log=None)
    on_gpu = meta_train(history, cfg.model_copy(update={"device": "cuda"}), log=None)
    assert {p.device.type for p in on_gpu.model.parameters()} == {"cpu"}
    assert_same_weights(on_gpu.model, on_cpu.model)
    assert on_gpu.metrics["final_loss"] == pytest.approx(on_cpu.metrics["final_loss"], rel=1e-3)
