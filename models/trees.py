"""LightGBM models stored as text in a registered model (the forecaster's boosted trees, the
recommender's two-stage ranker): which inputs one was trained on, and loading one only when
they are the inputs this version computes, so that trees saved by older code never score
columns they were not trained on."""
from __future__ import annotations

import logging
import re
from collections.abc import Sequence

log = logging.getLogger(__name__)


def inputs_of(model: str) -> list[str]:
    """The inputs a LightGBM model (its text) was trained on, from the model's header."""
    header = re.search(r"^feature_names=(.*)$", model, re.MULTILINE)
    return header.group(1).split() if header else []


def kept(model: str | None, inputs: Sequence[str], owner: str, what: str) -> str | None:
    """``model`` when it was trained on exactly ``inputs``; otherwise None with a warning that
    names the registered model (``owner``) and ``what`` is left out: the gate's candidate sits
    out until the next retrain trains it again on this version's inputs."""
    if model is None or inputs_of(model) == list(inputs):
        return model
    log.warning("%s: its %s was trained on other inputs than this version computes (older "
                "code); left out until the next retrain", owner, what)
    return None


def booster(model: str, inputs: Sequence[str], what: str):
    """LightGBM's model from its text, once it was trained on ``inputs``; otherwise a
    ValueError that names ``what`` and the inputs it lacks."""
    import lightgbm

    found = inputs_of(model)
    if found != list(inputs):
        missing = [f for f in inputs if f not in found]
        raise ValueError(f"{what}: trained on other inputs than this version computes "
                         f"(saved by older code?): {len(found)} inputs against {len(inputs)}, "
                         f"missing {', '.join(missing) or 'none'}")
    return lightgbm.Booster(model_str=model)
