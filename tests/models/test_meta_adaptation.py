"""The adaptation switch both models' predictions share (models/meta.py)."""
import pytest
import torch

from models.meta import adaptation_rates

PARAMS = {"w": torch.zeros(2, 3), "b": torch.zeros(3)}
LEARNED = {"w": torch.full((2, 3), 0.3), "b": torch.full((3,), 0.2)}


def test_model_adapts_as_it_was_trained():
    assert adaptation_rates("model", "maml", PARAMS, lambda: LEARNED, 0.1) is LEARNED
    assert adaptation_rates("model", "pooled", PARAMS, lambda: LEARNED, 0.1) is None


def test_finetune_uses_one_plain_rate_and_none_adapts_nothing():
    rates = adaptation_rates("finetune", "pooled", PARAMS, lambda: LEARNED, 0.05)
    assert set(rates) == {"w", "b"} and all(torch.all(r == 0.05) for r in rates.values())
    assert rates["w"].shape == (2, 3)
    assert adaptation_rates("none", "maml", PARAMS, lambda: LEARNED, 0.05) is None


def test_an_unknown_switch_is_refused():
    with pytest.raises(ValueError, match="one of model, meta, finetune, none"):
        adaptation_rates("adapt", "maml", PARAMS, lambda: LEARNED, 0.1)
