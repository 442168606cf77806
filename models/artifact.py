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
