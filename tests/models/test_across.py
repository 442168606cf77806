"""Meta-training across two processes (torchrun, gloo on CPU): the processes hold the same weights
after training, and the model matches the single-process one (the same batches of tasks, split
between the processes, the gradients summed)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import torch

from models.across import train_across, weights_digest
from models.forecaster.train import batch_losses, meta_train, training_tasks
from models.forecaster.features import FeatureBuilder

pytestmark = pytest.mark.slow


def test_two_processes_train_the_single_process_model(panel, tiny_config, tmp_path):
    history = panel.until(panel.end - timedelta(days=28))
    cfg = tiny_config.model_copy(update={"outer_steps": 12})
    one = meta_train(history, cfg, log=None)
    two = train_across(meta_train, history, cfg, processes=2, workdir=tmp_path)

    digests = {p.name: p.read_text() for p in tmp_path.glob("rank-*.sha256")}
    assert len(digests) == 2 and len(set(digests.values())) == 1  # identical weights
    assert digests["rank-0.sha256"] == weights_digest(two.model)
    for name, tensor in one.model.state_dict().items():  # summed in another order: float noise
        torch.testing.assert_close(two.model.state_dict()[name], tensor, atol=2e-4, rtol=1e-3)

    # and so the same quality on the same tasks
    categories = sorted(set(history.category))
    fb = FeatureBuilder(history, categories)
    items, origins = training_tasks(history, cfg.origin_every_days)
    with torch.no_grad():
        losses = [float(batch_losses(m.model, fb, items, origins, history.days - 1, cfg,
                                     cfg.inner_steps).mean()) for m in (one, two)]
    assert losses[1] == pytest.approx(losses[0], rel=1e-3)
    assert two.train_end == one.train_end and two.metrics["outer_steps"] == 12
