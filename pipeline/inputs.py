"""What produced a published day: a fingerprint of its inputs, recorded when the day completes,
so that a rerun of a complete day whose inputs are unchanged is a no-op and any change reruns it.

A day's inputs, each a digest (``PARTS``):
- ``files``: its source files (names and SHA-256) and the item catalogue;
- ``config``: the mapping, the quality and monitoring configurations, the dbt target and the
  models' settings;
- ``code``: the pipeline's packages and the dbt project (``code_version``);
- ``models``: the model decisions in force at D (the gate's and the operator's, the retrain
  requests) and the registered models trained on data up to D;
- ``previous``: the previous day's fingerprint. A day's features and models read every earlier
  day, so a day rerun with other inputs makes the days after it rerun too.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from functools import lru_cache

import duckdb

from domain.digests import file_sha256
from domain.paths import REPO_ROOT
from models import registry
from pipeline.context import RunContext
from warehouse import ledger

PARTS = ("files", "config", "code", "models", "previous")
CODE_DIRS = ("domain", "sources", "warehouse", "checks", "models", "monitoring", "pipeline",
             "dbt_project")
CODE_SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".json", ".csv"}
NOT_CODE = {"__pycache__", "target", "logs", "dbt_packages"}

def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


@lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of the code that computes a day (flows/ only orchestrates it)."""
    files = sorted(
        p for d in CODE_DIRS for p in (REPO_ROOT / d).rglob("*")
        if p.is_file() and p.suffix in CODE_SUFFIXES
        and not NOT_CODE & set(p.relative_to(REPO_ROOT).parts)
    )
    return _digest([(str(p.relative_to(REPO_ROOT)), file_sha256(p)) for p in files])


def config_version(ctx: RunContext) -> str:
    s = ctx.settings
    return _digest({
        "configs": [file_sha256(p) for p in (s.source_config, s.quality_config, s.monitoring_config)],
        "dbt_target": s.dbt_target,
        "forecaster": s.forecaster.model_dump(mode="json"),
        "recommender": s.recommender.model_dump(mode="json"),
    })


def _catalogue(ctx: RunContext) -> str | None:
    if ctx.source.catalogue is None:
        return None
    path = ctx.source.landing_path(ctx.settings.root) / ctx.source.catalogue.file
    return file_sha256(path) if path.exists() else "missing"


class DayInputs:
    """The inputs of days, as they stand now, over one connection: what does not depend on the
    day (configuration, code, catalogue, the registered models) is read once, so a plan or a
    window of many days reads each config file and model card once, not once a day."""

    def __init__(self, con: duckdb.DuckDBPyConnection, ctx: RunContext):
        self.con, self.ctx = con, ctx
        self.config, self.catalogue = config_version(ctx), _catalogue(ctx)
        self.trained = sorted((c.train_end, kind, c.path.name) for kind in registry.KINDS
                              for c in registry.candidates(ctx.settings.models_dir, kind))

    def files(self, run_date: date, files: list[dict] | None = None) -> str:
        """The day's files as ingested (``files``: the incoming area's manifest) or, without
        it, as they lie in the landing folder now."""
        if files is None:
            found = self.ctx.source.files_for(run_date, self.ctx.settings.root)
            named = [(p.name, file_sha256(p)) for p in found]
        else:
            named = [(f["name"], f["sha256"]) for f in files]
        return _digest({"files": sorted(named), "catalogue": self.catalogue})

    def models(self, run_date: date) -> str:
        decisions = self.con.execute(
            "SELECT model, run_date, winner, decision FROM ops.model_gate WHERE run_date <= ? "
            "ORDER BY model, run_date", [run_date]).fetchall()
        requests = self.con.execute(
            "SELECT model, run_date, requested FROM ops.retrain_decisions WHERE run_date <= ? "
            "ORDER BY model, run_date", [run_date]).fetchall()
        trained = [(kind, name) for end, kind, name in self.trained if end <= run_date]
        return _digest({"decisions": decisions, "requests": requests, "trained": sorted(trained)})

    def previous(self, run_date: date) -> str:
        before = run_date - timedelta(days=1)
        row = self.con.execute("SELECT fingerprint FROM ops.day_inputs WHERE run_date = ?",
                               [before]).fetchone()
        if row:
            return row[0]
        record = ledger.records(self.con, before, before).get(before)
        return record.status if record else "none"

    def parts(self, run_date: date, files: list[dict] | None = None) -> dict[str, str]:
        return {"files": self.files(run_date, files), "config": self.config,
                "code": code_version(), "models": self.models(run_date),
                "previous": self.previous(run_date)}

    def record(self, run_date: date, files: list[dict] | None) -> None:
        """What produced ``run_date``, now complete (days of a window in order: each reads the
        fingerprint just recorded for the day before)."""
        parts = self.parts(run_date, files)
        self.con.execute("INSERT OR REPLACE INTO ops.day_inputs VALUES (?, ?, ?)",
                         [run_date, _digest(parts), json.dumps(parts)])

    def changed(self, run_date: date) -> list[str]:
        """The parts of a complete day's inputs that differ from what produced it; none for a
        day completed before inputs were recorded (it is kept as it is)."""
        row = self.con.execute("SELECT parts FROM ops.day_inputs WHERE run_date = ?",
                               [run_date]).fetchone()
        if row is None:
            return []
        recorded, now = json.loads(row[0]), self.parts(run_date)
        return [p for p in PARTS if recorded.get(p) != now[p]]
