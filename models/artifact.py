"""What a training run produces, whatever the model: the network, its config, the window and
data it saw, and its metrics. ``models/registry.py`` saves and loads these."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from pydantic import BaseModel


@dataclass(kw_only=True)
class TrainedModel:
    model: torch.nn.Module
    config: BaseModel
    train_start: str
    train_end: str
    data_checksum: str
    metrics: dict = field(default_factory=dict)
    version: str = ""
    # where the weights started: None from scratch, else the earlier model's version and
    # training end, and the training end of the from-scratch model the chain began with
    started_from: dict | None = None

    @property
    def scratch_train_end(self) -> str:
        """The training end of the last from-scratch training in this model's lineage."""
        return self.started_from["scratch_train_end"] if self.started_from else self.train_end

    def lineage_of_child(self) -> dict:
        """``started_from`` of a model warm-started from this one."""
        return {"version": self.version, "train_end": self.train_end,
                "scratch_train_end": self.scratch_train_end}
