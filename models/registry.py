"""Model artifacts on disk, one folder per version, and the point-in-time choice of a model.

    <models_dir>/forecaster/<version>/weights.pt   state dict (loaded with weights_only=True)
                                     /model.json   training window, data checksum, config, metrics

The version names the training end and a hash of config and data, so the same training on the
same data gives the same version, and a model trained up to E is never used for a run date
before E.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import torch

from models.forecaster.config import ForecasterConfig
from models.forecaster.network import Forecaster
from models.forecaster.train import TrainedForecaster

WEIGHTS, CARD = "weights.pt", "model.json"


def version_of(trained: TrainedForecaster) -> str:
    digest = hashlib.sha256(json.dumps(
        {"config": trained.config.training_fields(), "data": trained.data_checksum},
        sort_keys=True).encode()).hexdigest()[:10]
    return f"forecaster-{trained.config.mode}-{trained.train_end}-{digest}"


def save(trained: TrainedForecaster, models_dir: Path) -> Path:
    """Write the artifact beside its final place, then rename it in (never half-written)."""
    trained.version = trained.version or version_of(trained)
    final = models_dir / "forecaster" / trained.version
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    torch.save(trained.model.state_dict(), staging / WEIGHTS)
    card = {
        "version": trained.version, "train_start": trained.train_start,
        "train_end": trained.train_end, "data_checksum": trained.data_checksum,
        "categories": trained.categories, "config": trained.config.model_dump(),
        "metrics": trained.metrics, "saved_at": datetime.now(timezone.utc).isoformat(),
        "torch": torch.__version__,
    }
    (staging / CARD).write_text(json.dumps(card, indent=2))
    if final.exists():  # retrained on the same data and config: same content, replace it
        shutil.rmtree(final)
    os.replace(staging, final)
    return final


def load(path: Path) -> TrainedForecaster:
    card = json.loads((path / CARD).read_text())
    config = ForecasterConfig(**card["config"])
    model = Forecaster(len(card["categories"]), config.hidden, config.embedding,
                       inner_lr=config.inner_lr)
    model.load_state_dict(torch.load(path / WEIGHTS, weights_only=True))
    model.eval()
    return TrainedForecaster(model=model, categories=card["categories"], config=config,
                             train_start=card["train_start"], train_end=card["train_end"],
                             data_checksum=card["data_checksum"], metrics=card["metrics"],
                             version=card["version"])


@dataclass
class Candidate:
    path: Path
    train_end: date
    data_checksum: str
    config: dict


def candidates(models_dir: Path) -> list[Candidate]:
    out = []
    for card_path in sorted((models_dir / "forecaster").glob(f"*/{CARD}")):
        card = json.loads(card_path.read_text())
        out.append(Candidate(card_path.parent, date.fromisoformat(card["train_end"]),
                             card["data_checksum"], card["config"]))
    return out


def usable_for(models_dir: Path, run_date: date, config: ForecasterConfig,
               checksum_at: "callable") -> Candidate | None:
    """The newest model trained up to run_date at the latest, with this training config,
    within ``retrain_every_days`` of run_date, and trained on the data the warehouse holds now
    for its window (``checksum_at(train_end)``: a reprocessed day makes it stale)."""
    fields = config.training_fields()
    fresh = [c for c in candidates(models_dir)
             if c.train_end <= run_date
             and (run_date - c.train_end).days <= config.retrain_every_days
             and {k: c.config.get(k) for k in fields} == fields]
    for c in sorted(fresh, key=lambda c: c.train_end, reverse=True):
        if checksum_at(c.train_end) == c.data_checksum:
            return c
    return None
