"""Warm starts: a retrain that begins from an earlier model's weights instead of from scratch.

The earlier model was trained on data up to an earlier date, so starting from it keeps the new
model point in time. Vocabularies grow between trainings (new items, categories, stores): an
embedding row belongs to a name, so rows are copied by name (row 0 is the "unseen" row, row
i + 1 is the vocabulary's i-th name) and the rows of new names keep their fresh initialisation.
Every other parameter of the same shape is copied as it is.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

VocabularyRows = dict[str, tuple[Sequence[str], Sequence[str]]]  # param -> (old names, new names)


def copy_weights(model: torch.nn.Module, parent: torch.nn.Module, rows: VocabularyRows) -> int:
    """Copy the parent's weights into ``model`` (in place); returns how many vocabulary rows
    were carried over. A parameter whose shape changed for another reason is an error: the
    two networks are not the same architecture."""
    carried = 0
    parent_state = parent.state_dict()
    with torch.no_grad():
        for name, target in model.state_dict().items():
            source = parent_state[name]
            if name in rows:
                old, new = rows[name]
                at = {n: i + 1 for i, n in enumerate(old)}
                pairs = [(j + 1, at[n]) for j, n in enumerate(new) if n in at]
                if pairs:
                    dst, src = (torch.tensor(x) for x in zip(*pairs))
                    target[dst] = source[src]
                target[0] = source[0]
                carried += len(pairs)
            elif source.shape == target.shape:
                target.copy_(source)
            else:
                raise ValueError(f"{name}: {tuple(source.shape)} in the earlier model, "
                                 f"{tuple(target.shape)} now: not the same network")
    return carried


def check_start(parent, train_end) -> None:
    """A warm start from a model trained on days after this training's end would leak them."""
    if str(parent.train_end) > str(train_end):
        raise ValueError(f"cannot start a training up to {train_end} from {parent.version}, "
                         f"trained on data up to {parent.train_end}")


def warm_steps(outer_steps: int, fraction: float) -> int:
    """Outer steps of a warm-started training: a fraction of a full one, at least one."""
    return max(1, round(outer_steps * fraction))


def warm_start(model: torch.nn.Module, start_from: Any, train_end, cfg: Any,
               vocabularies: dict[str, tuple[str, Sequence[str]]]) -> tuple[int, dict | None]:
    """The outer steps and the lineage (``started_from``) of a training of ``model`` on data up
    to train_end: all of ``cfg.outer_steps`` and none from scratch (``start_from`` None);
    otherwise the earlier model's weights copied in and ``warm_start_fraction`` of the steps.
    ``vocabularies``: embedding parameter -> (the vocabulary's attribute on a trained model,
    this training's names)."""
    if start_from is None:
        return cfg.outer_steps, None
    check_start(start_from, train_end)
    copy_weights(model, start_from.model, {param: (getattr(start_from, attribute), names)
                                           for param, (attribute, names) in vocabularies.items()})
    return warm_steps(cfg.outer_steps, cfg.warm_start_fraction), start_from.lineage_of_child()
