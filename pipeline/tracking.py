"""Experiment tracking with MLflow: every training and every backtest of the model gate becomes
a run in a local store under the data directory (``mlflow ui --backend-store-uri
sqlite:///data/mlflow.db``), so trainings and candidates are compared in a UI rather than in
prose. Tracking only records: what serves is the gate's point-in-time rule (models/gate.py).

One experiment per model kind and record type: ``shopcast/<kind>/training`` (a run per
registered version: its config, window, data checksum, lineage and training metrics) and
``shopcast/<kind>/gate`` (a run per decision: every candidate's backtest metrics, the winner
and why). The client is opened only when there is something to log: a daily run that reuses
its models pays nothing (MLflow's import and store check cost about 3 s).
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable

from models import gate
from pipeline.context import log


def _flat(prefix: str, values: dict) -> Iterable[tuple[str, float]]:
    for key, value in values.items():
        name = f"{prefix}{key}".replace(" ", "_").replace("@", "_at_")
        if isinstance(value, dict):
            yield from _flat(f"{name}.", value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            yield name, float(value)


class Tracker:
    """Logs to one MLflow tracking store; ``uri`` None: a tracker that logs nothing."""

    def __init__(self, uri: str | None):
        self.uri = uri
        self._client = None

    @property
    def client(self):
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    def _run(self, experiment: str, run_name: str, params: dict, metrics: dict, tags: dict
             ) -> str | None:
        """One finished run; a store that cannot be written is reported, never fatal: the
        day's outputs do not depend on their record in the tracking store."""
        try:
            return self._write(experiment, run_name, params, metrics, tags)
        except Exception as e:  # noqa: BLE001 - any failure of the store
            log.warning(f"MLflow tracking at {self.uri} failed, {run_name} not recorded there: "
                        f"{type(e).__name__}: {e}")
            return None

    def _write(self, experiment: str, run_name: str, params: dict, metrics: dict, tags: dict) -> str:
        from mlflow.entities import Metric, Param, RunTag

        found = self.client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else self.client.create_experiment(experiment)
        run = self.client.create_run(experiment_id, run_name=run_name)
        now = int(time.time() * 1000)
        self.client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, now, 0) for k, v in _flat("", metrics)],
            params=[Param(k, str(v)[:6000]) for k, v in params.items()],
            tags=[RunTag(k, str(v)) for k, v in tags.items() if v is not None])
        self.client.set_terminated(run.info.run_id)
        return run.info.run_id

    def training(self, kind: str, trained) -> str | None:
        """A registered model's training: config, window, data checksum, lineage, metrics."""
        if self.uri is None:
            return None
        lineage = trained.started_from or {}
        return self._run(
            f"shopcast/{kind}/training", trained.version,
            params=trained.config.model_dump(),
            metrics=trained.metrics,
            tags={"version": trained.version, "train_start": trained.train_start,
                  "train_end": trained.train_end, "data_checksum": trained.data_checksum,
                  "started_from": lineage.get("version", "scratch"),
                  # what was trained with the network, as gate candidates
                  "two_stage": getattr(trained, "ranker", None) is not None,
                  "pooled": getattr(trained, "pooled", None) is not None,
                  "boosted": getattr(trained, "boosted", None) is not None})

    def decision(self, decision: gate.Decision) -> str | None:
        """A gate decision: each candidate's backtest metrics, the winner and why."""
        if self.uri is None:
            return None
        b = decision.backtest
        return self._run(
            f"shopcast/{decision.model}/gate", f"{decision.model} {decision.run_date}",
            params={"run_date": decision.run_date.isoformat(),
                    **({"origin": b.origin.isoformat(), "metric": b.metric} if b else {})},
            metrics=dict(b.details) if b else {},
            tags={"winner": decision.winner, "champion": decision.champion,
                  "reason": decision.reason, "operator_version": decision.version,
                  "versions": json.dumps(b.versions) if b else None})
