"""Model artifacts on disk, one folder per kind and version, and the point-in-time choice of a
model. Kinds: the forecaster and the recommender.

    <models_dir>/<kind>/<version>/weights.pt   state dict (loaded with weights_only=True)
                                 /model.json   kind, training window, data checksum, config,
                                               vocabularies (categories, ...), metrics
                                 /ranker.txt   the recommender's two-stage ranker (LightGBM)
    <models_dir>/<kind>/_quarantine/<version>-<when>/   an artifact found corrupt, with reason.txt

The card records every file's SHA-256: a truncated or changed file is refused naming it, moved
to the quarantine, and the next valid model (or a new training) serves instead.

The version names the kind, mode, training end and a hash of config and data, so the same
training on the same data gives the same version, and a model trained up to E is never used for
a run date before E.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import torch

from domain.digests import file_sha256
from models.forecaster.config import ForecasterConfig
from models.forecaster.network import Forecaster
from models.forecaster.train import TrainedForecaster
from models.recommender.config import RecommenderConfig
from models.recommender.network import Recommender
from models.recommender.train import TrainedRecommender

WEIGHTS, CARD = "weights.pt", "model.json"
QUARANTINE = "_quarantine"
log = logging.getLogger("shopcast")


class CorruptArtifact(ValueError):
    """An artifact whose card or files cannot be read, or are not what was saved: the message
    names the file."""
Trained = TrainedForecaster | TrainedRecommender  # both models.artifact.TrainedModel


@dataclass(frozen=True)
class Kind:
    name: str
    config: type
    trained: type
    vocabularies: tuple[str, ...]     # lists stored in the card that size the network
    build: Callable[[Any, dict], torch.nn.Module]  # (config, card) -> an untrained network
    texts: tuple[str, ...] = ()       # optional text parts, <name>.txt (None: not trained)
    networks: tuple[str, ...] = ()    # optional networks of the same shape, <name>.pt


KINDS = {k.name: k for k in (
    Kind("forecaster", ForecasterConfig, TrainedForecaster, ("categories",),
         lambda cfg, card: Forecaster(len(card["categories"]), cfg.hidden, cfg.embedding,
                                      inner_lr=cfg.inner_lr),
         texts=("boosted",),  # the boosted trees trained with it (LightGBM's text): a candidate
         networks=("pooled",)),  # the pooled network trained with it: a gate candidate
    Kind("recommender", RecommenderConfig, TrainedRecommender, ("items", "categories", "stores"),
         lambda cfg, card: Recommender(len(card["items"]), len(card["categories"]),
                                       len(card["stores"]), cfg),
         ("ranker",)),  # the two-stage recommender's LightGBM model, text: loads no code
)}


def kind_of(thing: Any) -> Kind:
    """The kind of a trained model or of a model config."""
    for kind in KINDS.values():
        if isinstance(thing, (kind.trained, kind.config)):
            return kind
    raise TypeError(f"not a model or model config: {type(thing).__name__}")


def version_of(trained: Trained) -> str:
    started = trained.started_from["version"] if trained.started_from else None
    digest = hashlib.sha256(json.dumps(
        {"config": trained.config.training_fields(), "data": trained.data_checksum,
         **({"started_from": started} if started else {})},  # scratch versions as before
        sort_keys=True).encode()).hexdigest()[:10]
    return f"{kind_of(trained).name}-{trained.config.mode}-{trained.train_end}-{digest}"


def save(trained: Trained, models_dir: Path) -> Path:
    """Write the artifact beside its final place, then rename it in (never half-written)."""
    kind = kind_of(trained)
    trained.version = trained.version or version_of(trained)
    final = models_dir / kind.name / trained.version
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".staging-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    torch.save(trained.model.state_dict(), staging / WEIGHTS)
    for part in kind.networks:
        if getattr(trained, part) is not None:
            torch.save(getattr(trained, part).state_dict(), staging / f"{part}.pt")
    for part in kind.texts:
        if getattr(trained, part) is not None:
            (staging / f"{part}.txt").write_text(getattr(trained, part))
    card = {
        "kind": kind.name, "version": trained.version, "train_start": trained.train_start,
        "train_end": trained.train_end, "data_checksum": trained.data_checksum,
        **{v: list(getattr(trained, v)) for v in kind.vocabularies},
        "config": trained.config.model_dump(), "metrics": trained.metrics,
        "started_from": trained.started_from,
        "saved_at": datetime.now(timezone.utc).isoformat(), "torch": torch.__version__,
    }
    card["files"] = {f.name: file_sha256(f) for f in sorted(staging.iterdir())}
    (staging / CARD).write_text(json.dumps(card, indent=2))
    if final.exists():  # retrained on the same data and config: same content, replace it
        shutil.rmtree(final)
    os.replace(staging, final)
    return final


def _card(path: Path) -> dict:
    try:
        return json.loads((path / CARD).read_text())
    except (OSError, ValueError) as exc:
        raise CorruptArtifact(f"{path / CARD}: the model card cannot be read ({exc})") from exc


def verify(path: Path) -> dict:
    """The artifact's card, once every file it records has the checksum it was saved with
    (cards written before checksums were recorded are taken as they are)."""
    card = _card(path)
    for name, digest in card.get("files", {}).items():
        if not (path / name).is_file() or file_sha256(path / name) != digest:
            raise CorruptArtifact(f"{path / name}: missing, or not the file that was saved "
                                  "(truncated or changed since; its checksum differs)")
    return card


def quarantine(path: Path, reason: str) -> Path:
    """Move a corrupt artifact out of the way (kept for a look), with why."""
    where = path.parent / QUARANTINE / f"{path.name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}"
    where.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, where)
    (where / "reason.txt").write_text(reason + "\n")
    log.warning("model artifact quarantined: %s (%s)", where, reason)
    return where


def load(path: Path) -> Trained:
    card = verify(path)
    kind = KINDS[card.get("kind", "forecaster")]
    config = kind.config(**_known(kind.config, card["config"]))
    model = _network(kind, config, card, path / WEIGHTS)
    return kind.trained(model=model, config=config, train_start=card["train_start"],
                        train_end=card["train_end"], data_checksum=card["data_checksum"],
                        metrics=card["metrics"], version=card["version"],
                        started_from=card.get("started_from"),
                        **{v: card[v] for v in kind.vocabularies},
                        **{t: (path / f"{t}.txt").read_text() if (path / f"{t}.txt").exists()
                           else None for t in kind.texts},
                        **{n: _network(kind, config, card, path / f"{n}.pt")
                           if (path / f"{n}.pt").exists() else None for n in kind.networks})


def _known(config_class: type, fields: dict) -> dict:
    """The card's config fields this code still has: one saved by earlier code, with a field
    since removed, still loads (its version, and so the artifact, stays what it was)."""
    return {k: v for k, v in fields.items() if k in config_class.model_fields}


def _network(kind: Kind, config, card: dict, weights: Path) -> torch.nn.Module:
    model = kind.build(config, card)
    try:
        state = torch.load(weights, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as exc:
        # weights_only refuses a pickle that would run code; a cut file fails to unzip
        raise CorruptArtifact(f"{weights}: not a readable state dict of plain tensors "
                              f"({str(exc).splitlines()[0][:200]})") from exc
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:  # weights of another network: an artifact of older code
        detail = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise ValueError(f"{weights}: these weights do not fit this version's {kind.name} "
                         f"network (saved by older code?): {detail}") from exc
    return model.eval()


@dataclass
class Candidate:
    path: Path
    train_end: date
    data_checksum: str
    config: dict
    saved_at: datetime
    training_seconds: float      # every model trained with it: the network's outer loop and the
                                 # pooled network, trees or ranker trained beside it
    warm_started: bool


def candidates(models_dir: Path, kind: str) -> list[Candidate]:
    out = []
    for card_path in sorted((models_dir / kind).glob(f"*/{CARD}")):
        try:
            card = _card(card_path.parent)
        except CorruptArtifact as exc:
            quarantine(card_path.parent, str(exc))
            continue
        out.append(Candidate(card_path.parent, date.fromisoformat(card["train_end"]),
                             card["data_checksum"], card["config"],
                             datetime.fromisoformat(card["saved_at"]),
                             sum(float(v) for k, v in card["metrics"].items()
                                 if k == "seconds" or k.endswith("_seconds")),
                             card.get("started_from") is not None))
    return out


def saved_since(models_dir: Path, when: datetime) -> list[Candidate]:
    """Every model of either kind saved at ``when`` or later (what a run trained)."""
    return [c for kind in KINDS for c in candidates(models_dir, kind) if c.saved_at >= when]


def trained_by(models_dir: Path, run_date: date, config: ForecasterConfig | RecommenderConfig
               ) -> list[Candidate]:
    """Models trained up to run_date at the latest with this training config, newest first."""
    fields = config.training_fields()
    return sorted((c for c in candidates(models_dir, kind_of(config).name)
                   if c.train_end <= run_date and {k: c.config.get(k) for k in fields} == fields),
                  key=lambda c: c.train_end, reverse=True)


def usable_for(models_dir: Path, run_date: date, config: ForecasterConfig | RecommenderConfig,
               checksum_at: Callable[[date], str], not_trained_by: date | None = None
               ) -> Candidate | None:
    """The newest model trained up to run_date at the latest, with this training config,
    within ``retrain_every_days`` of run_date, trained on the data the warehouse holds now
    for its window (``checksum_at(train_end)``: a reprocessed day makes it stale), and on data
    after ``not_trained_by`` when a retrain was asked for on that day."""
    for c in trained_by(models_dir, run_date, config):
        if (run_date - c.train_end).days > config.retrain_every_days:
            break
        if not_trained_by is not None and c.train_end <= not_trained_by:
            break
        if checksum_at(c.train_end) == c.data_checksum:
            return c
    return None


def load_usable(models_dir: Path, run_date: date, config: ForecasterConfig | RecommenderConfig,
                checksum_at: Callable[[date], str]) -> Trained | None:
    """``usable_for``'s model, loaded; a corrupt one on the way is quarantined and the next
    usable one tried."""
    while (found := usable_for(models_dir, run_date, config, checksum_at)) is not None:
        try:
            return load(found.path)
        except CorruptArtifact as exc:
            quarantine(found.path, str(exc))
    return None


def warm_start_for(models_dir: Path, train_end: date, config: ForecasterConfig | RecommenderConfig,
                   checksum_at: Callable[[date], str]) -> tuple[Trained | None, str]:
    """The model a training up to train_end starts from (None: from scratch), and why: the
    newest earlier model, unless warm starts are off or not asked for, its window's data changed
    since it was trained, or its chain began ``scratch_every_days`` or more ago."""
    if config.warm_start_fraction <= 0:
        return None, "warm starts are off"
    if config.from_scratch:
        return None, "asked for"
    earlier = trained_by(models_dir, train_end, config)
    if not earlier:
        return None, "no earlier model"
    newest = earlier[0]
    if checksum_at(newest.train_end) != newest.data_checksum:
        return None, f"the data up to {newest.train_end} changed since {newest.path.name} was trained"
    try:
        parent = load(newest.path)
    except CorruptArtifact as exc:
        quarantine(newest.path, str(exc))
        return warm_start_for(models_dir, train_end, config, checksum_at)
    began = date.fromisoformat(parent.scratch_train_end)
    if (train_end - began).days >= config.scratch_every_days:
        return None, f"its chain of warm starts began on {began}"
    return parent, f"warm start from {parent.version}"


class PointInTime:
    """The model of each run date for one kind, across the days of one call: the newest usable
    model (``usable_for``), or one trained now and saved first; each loaded once."""

    def __init__(self, models_dir: Path, config: ForecasterConfig | RecommenderConfig):
        self.models_dir, self.config = models_dir, config
        self._loaded: dict[Path, Trained] = {}
        self._checksums: dict[date, str] = {}  # the data up to a day does not change in a call

    def model_for(self, run_date: date, checksum_at: Callable[[date], str],
                  train: Callable[[Trained | None, str], Trained],
                  not_trained_by: date | None = None) -> tuple[Trained, bool]:
        """The model for run_date and whether it was trained now: ``train(start_from, why)``
        trains one on the data up to run_date, from an earlier model's weights or from scratch
        (``warm_start_for``); ``not_trained_by``: a retrain asked for on that day (before
        run_date) makes the models trained on data up to it unusable."""
        def checksum(end: date) -> str:
            if end not in self._checksums:
                self._checksums[end] = checksum_at(end)
            return self._checksums[end]

        while True:
            chosen = usable_for(self.models_dir, run_date, self.config, checksum, not_trained_by)
            if chosen is None:
                path = save(train(*warm_start_for(self.models_dir, run_date, self.config,
                                                  checksum)), self.models_dir)
            else:
                path = chosen.path
            if path in self._loaded:
                break
            try:
                self._loaded = {path: load(path)}
                break
            except CorruptArtifact as exc:
                if chosen is None:  # written a moment ago: the disk, not the artifact
                    raise
                quarantine(path, str(exc))  # and look again: the next valid one, or train
        return self._loaded[path], chosen is None
