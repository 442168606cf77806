"""The gate in the model stages (models/gate.py has the rule): at a retrain date D the
candidates are backtested on D - H + 1 .. D and the decision says what serves from D on; the
run dates after D, until the next retrain, serve what it chose. Decisions are stored in the
ledger (``ops.model_gate``) and in the day's report.

The network's candidate is the newest registered model trained on data up to D - H (within
``retrain_every_days`` of it, its data unchanged), trained and registered then if there is none:
in production, with weekly retrains, it already exists. The baseline is made from the history
known at D - H. Both are scored with the product's own metrics (models/*/evaluate.py).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from models import gate, registry
from models.forecaster import boosted
from models.forecaster.train import POOLED_SUFFIX
from models.recommender import ranker
from pipeline.tracking import Tracker
from warehouse import db


@dataclass(frozen=True)
class GateSpec:
    """What the gate needs to know of one model kind."""
    horizon_days: int                                   # H
    metric: str                                         # e.g. "wrmsse all": (metric, segment)
    lower_is_better: bool
    # (network at D - H, history reaching D, D - H) -> {candidate: metrics}: the network, the
    # baseline, and what was trained with the network (the two-stage recommender)
    backtest: Callable[[Any, Any, date], dict[str, dict]]
    bias_metric: str | None = None                      # e.g. "total_bias all": calibration

    def score_of(self, metrics: dict, metric: str | None = None) -> float:
        name, segment = (metric or self.metric).split()
        return float(metrics[segment][name])


@dataclass
class ModelGate:
    """The decisions of one model kind in one call of the model stage."""
    model: str
    spec: GateSpec
    margin: float
    decisions: dict[date, gate.Decision]                # from the ledger, and those made now
    first_champion: str = gate.FIRST_CHAMPION           # what serves before any backtest
    max_bias: float | None = None                       # beyond it (spec.bias_metric) a candidate is left out
    made: list[gate.Decision] = field(default_factory=list)

    @classmethod
    def read(cls, con, model: str, spec: GateSpec, margin: float,
             first_champion: str = gate.FIRST_CHAMPION, max_bias: float | None = None) -> "ModelGate":
        rows = con.execute("SELECT decision FROM ops.model_gate WHERE model = ?", [model]).fetchall()
        decisions = {d.run_date: d for d in (gate.Decision.from_dict(json.loads(r[0])) for r in rows)}
        return cls(model, spec, margin, decisions, first_champion, max_bias)

    def left_out(self, metrics: dict[str, dict]) -> dict[str, str]:
        """Candidates whose total is off by more than ``max_bias`` (forecasts: the sum over the
        items and days against the units sold), with why."""
        if self.spec.bias_metric is None or self.max_bias is None:
            return {}
        biases = {c: self.spec.score_of(m, self.spec.bias_metric) for c, m in metrics.items()}
        return {c: f"its total is {b:+.0%} off the units sold (more than {self.max_bias:.0%})"
                for c, b in biases.items() if abs(b) > self.max_bias}

    def decision_for(self, run_date: date, network, trained_now: bool,
                     network_at: Callable[[date, bool], Any | None], history: Any,
                     log_line: Callable[[str], None]) -> gate.Decision:
        """The decision that serves ``run_date``: the newest one made on or after the serving
        network's training end, unless the network was trained now (a retrain date: decide
        again). ``network_at(origin, may_train)``: the network's candidate for a backtest at
        origin (None: too little history, or none registered and ``may_train`` false);
        ``history``: the model's history, reaching ``run_date`` at least (the backtest's actuals)."""
        last = max((d for d in self.decisions if d <= run_date), default=None)
        trained_end = date.fromisoformat(str(network.train_end))
        if not trained_now and last is not None and last >= trained_end:
            return self.decisions[last]
        if last == run_date and self.decisions[last].version is not None:
            return self.decisions[last]  # the operator's choice for this very day stands
        champion = self.decisions[last].winner if last is not None else self.first_champion
        origin = run_date - timedelta(days=self.spec.horizon_days)
        candidate = network_at(origin, trained_now)  # trains one only at a retrain date
        backtest, left_out = None, {}
        if candidate is not None:
            metrics = self.spec.backtest(candidate, history, origin)
            backtest = gate.Backtest(
                origin, self.spec.metric, self.spec.lower_is_better,
                {c: self.spec.score_of(m) for c, m in metrics.items()},
                {c: published_version(candidate.version, c) for c in metrics
                 if c != gate.BASELINE}, metrics)
            left_out = self.left_out(metrics)
        decision = gate.decide(self.model, run_date, champion, backtest, self.margin, left_out)
        self.decisions[run_date] = decision
        self.made = [d for d in self.made if d.run_date != run_date] + [decision]
        log_line(f"{run_date} {self.model}: the model gate chose the {decision.winner} ({decision.reason})")
        return decision

    def record(self, settings, tracker: Tracker) -> None:
        """The decisions made in this call into the ledger (a rerun of a day replaces its own)
        and the tracking store."""
        if not self.made:
            return
        with db.writer(settings) as con:
            con.executemany("INSERT OR REPLACE INTO ops.model_gate VALUES (?, ?, ?, ?)",
                            [(d.run_date, d.model, d.winner, json.dumps(d.as_dict()))
                             for d in self.made])
        for d in self.made:
            tracker.decision(d)


def network_candidate(models_dir, config, checksum_at: Callable[[date], str],
                      train: Callable[[date, Any, str], Any], enough_history: Callable[[date], bool]
                      ) -> Callable[[date, bool], Any | None]:
    """``network_at(origin, may_train)`` for ``ModelGate.decision_for``: the newest usable
    registered network trained on data up to origin, or with ``may_train`` one trained and
    registered now (``train(origin, start_from, why)``); None when the history at origin is too
    short to train one. A day that reuses its model never trains for the gate (a run that
    finds a model made before the gate existed decides without a backtest)."""
    def network_at(origin: date, may_train: bool):
        if not enough_history(origin):
            return None
        found = registry.load_usable(models_dir, origin, config, checksum_at)
        if found is not None:
            return found
        if not may_train:
            return None
        start_from, why = registry.warm_start_for(models_dir, origin, config, checksum_at)
        return registry.load(registry.save(train(origin, start_from, why), models_dir))
    return network_at


# what a registered model carries besides its network, as published: version suffix ->
# (the gate's candidate, the part of the artifact it needs)
PARTS = {ranker.SUFFIX: (gate.TWO_STAGE, "ranker.txt"), POOLED_SUFFIX: (gate.POOLED, "pooled.pt"),
         boosted.SUFFIX: (gate.BOOSTED, "boosted.txt")}


def split_version(version: str) -> tuple[str, str, str | None]:
    """A published version as (the registered model's version, the candidate that served, the
    part of the artifact it needs): ``v+pooled`` -> (v, pooled, pooled.pt), ``v`` -> (v,
    network, None)."""
    for suffix, (candidate, needs) in PARTS.items():
        if version.endswith(suffix):
            return version.removesuffix(suffix), candidate, needs
    return version, gate.NETWORK, None


def published_version(version: str, candidate: str) -> str:
    """The version under which a registered model's candidate publishes (and can be promoted):
    split_version's inverse, ``(v, pooled)`` -> ``v+pooled``, ``(v, network)`` -> ``v``."""
    return version + next((suffix for suffix, (c, _) in PARTS.items() if c == candidate), "")


def parts_of(path) -> list[str]:
    """The suffixes under which the registered model at ``path`` can also serve (the parts it
    was saved with), e.g. ["+pooled", "+boosted"]."""
    return [suffix for suffix, (_, needs) in PARTS.items() if (path / needs).exists()]


def promote(settings, kind: str, version: str, from_date: date, baseline_version: str) -> gate.Decision:
    """The operator's decision: ``version`` (a registered model of ``kind``, or the kind's
    baseline) serves from ``from_date`` on, until the gate decides again at the next retrain
    date. Point in time: a model trained on data after ``from_date`` is refused. A version
    ending in ``+two-stage``, ``+pooled`` or ``+boosted`` (as published) serves that model's
    two-stage recommender, pooled network or boosted trees."""
    asked = version
    version, head, part = split_version(version)
    if version == baseline_version:
        winner = gate.BASELINE
    else:
        path = settings.models_dir / kind / version
        if not (path / registry.CARD).exists():
            known = [c.path.name for c in registry.candidates(settings.models_dir, kind)]
            raise ValueError(f"no {kind} version {version!r} in {settings.models_dir / kind} "
                             f"(registered: {', '.join(known) or 'none'}; the baseline: "
                             f"{baseline_version})")
        train_end = date.fromisoformat(json.loads((path / registry.CARD).read_text())["train_end"])
        if train_end > from_date:
            raise ValueError(f"{version} was trained on data up to {train_end}: it cannot serve "
                             f"{from_date} (a model serves only run dates on or after its "
                             "training end)")
        if part is not None and not (path / part).exists():
            raise ValueError(f"{version} was registered without its {head} candidate ({part})")
        winner = head
    with db.writer(settings) as con:
        held = con.execute("SELECT winner FROM ops.model_gate WHERE model = ? AND run_date <= ? "
                           "ORDER BY run_date DESC LIMIT 1", [kind, from_date]).fetchone()
        decision = gate.Decision(kind, from_date, held[0] if held else gate.FIRST_CHAMPION, winner,
                                 f"promoted by the operator: {asked}", None, version)
        con.execute("INSERT OR REPLACE INTO ops.model_gate VALUES (?, ?, ?, ?)",
                    [from_date, kind, winner, json.dumps(decision.as_dict())])
    Tracker(settings.tracking).decision(decision)
    return decision


def previous_version(con, table: str, before: date) -> tuple[str, str] | None:
    """(the version that published the last run date before ``before``, the different one that
    published before it), from the published rows of ``table``; None when there is no earlier
    version to go back to."""
    served = con.execute(f"SELECT run_date, min(model_version) FROM {table} WHERE run_date < ? "
                         "GROUP BY run_date ORDER BY run_date DESC", [before]).fetchall()
    if not served:
        return None
    current = served[0][1]
    earlier = next((v for _, v in served if v != current), None)
    return None if earlier is None else (current, earlier)
