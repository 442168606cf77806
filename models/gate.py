"""The model gate: which candidate serves a model kind from a retrain date D on.

Each candidate (the configured network, the best simple baseline, for forecasts the pooled
network and the boosted trees, for lists the two-stage recommender, each trained with the network) is taken as it was on data up
to D - H (H: the horizon the product is judged on, 28 days for forecasts, 30 for lists) and
scored on D - H + 1 .. D, whose actuals are known at D, with the product's own metrics
(docs/evaluation.md). The serving candidate, the champion, is replaced only by a challenger
that beats it by ``margin`` (relative) on that same backtest; the first champion is the
baseline, so a network serves only once it has won. Pure: the pipeline gathers the scores
(pipeline/predict.py) and stores the decisions (``ops.model_gate``).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import date

NETWORK, BASELINE = "network", "baseline"
TWO_STAGE = "two-stage"  # recommendations: candidates, then a learned ranker
POOLED = "pooled"        # forecasts: the same network trained without adaptation
BOOSTED = "boosted"      # forecasts: gradient-boosted trees over the network's inputs
FIRST_CHAMPION = BASELINE


@dataclass(frozen=True)
class Backtest:
    origin: date                    # the candidates saw data up to here
    metric: str                     # what decides, e.g. "wrmsse all"
    lower_is_better: bool
    scores: dict[str, float]        # candidate -> the deciding metric (NaN: not scored)
    versions: dict[str, str] = field(default_factory=dict)  # candidate -> what was scored
    details: dict[str, dict] = field(default_factory=dict)  # candidate -> every metric


@dataclass(frozen=True)
class Decision:
    model: str                      # "forecaster", "recommender"
    run_date: date                  # serves from here until the next decision
    champion: str                   # what served before
    winner: str                     # what serves now
    reason: str
    backtest: Backtest | None
    version: str | None = None      # an operator's choice: this version serves (promote, rollback)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["run_date"] = self.run_date.isoformat()
        if self.backtest is not None:
            out["backtest"]["origin"] = self.backtest.origin.isoformat()
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "Decision":
        b = d.get("backtest")
        backtest = None if b is None else Backtest(**{**b, "origin": date.fromisoformat(b["origin"])})
        return cls(d["model"], date.fromisoformat(d["run_date"]), d["champion"], d["winner"],
                   d["reason"], backtest, d.get("version"))


def decide(model: str, run_date: date, champion: str, backtest: Backtest | None,
           margin: float, left_out: dict[str, str] | None = None) -> Decision:
    """The champion keeps serving unless a scored challenger beats it by ``margin`` (0.02:
    2% better) on the same backtest. Without a backtest (too little history to train a
    candidate on data up to D - H) the champion stays; a champion without a score of its own
    gives way to the best scored challenger. ``left_out``: candidates that may not win,
    whatever their score (candidate -> why), said in the reason."""
    if backtest is None:
        return Decision(model, run_date, champion, champion, "no backtest yet: the champion stays",
                        None)
    left_out = left_out or {}
    scored = {c: s for c, s in backtest.scores.items()
              if s is not None and math.isfinite(s) and c not in left_out}
    if left_out:
        made = decide(model, run_date, champion, Backtest(
            backtest.origin, backtest.metric, backtest.lower_is_better, scored), margin)
        note = "; ".join(f"{c} left out: {why}" for c, why in left_out.items())
        return replace(made, reason=f"{made.reason} ({note})", backtest=backtest)
    better = (lambda a, b: a < b) if backtest.lower_is_better else (lambda a, b: a > b)
    if not scored:
        return Decision(model, run_date, champion, champion, "no candidate could be scored: the "
                        "champion stays", backtest)
    pick = min if backtest.lower_is_better else max
    if champion not in scored:
        best = pick(scored, key=scored.get)
        return Decision(model, run_date, champion, best, f"{champion} was not scored; {best} has "
                        f"the best {backtest.metric} ({scored[best]:.4f})", backtest)
    held = scored[champion]
    challengers = {c: s for c, s in scored.items() if c != champion}
    if not challengers:
        return Decision(model, run_date, champion, champion, f"no challenger could be scored: "
                        f"{champion} stays ({backtest.metric} {held:.4f})", backtest)
    best = pick(challengers, key=challengers.get)
    # the challenger must pass the champion's score moved by the margin in the metric's direction
    needed = held * (1 - margin) if backtest.lower_is_better else held * (1 + margin)
    if better(challengers[best], needed):
        return Decision(model, run_date, champion, best,
                        f"{best} beats {champion} by more than {margin:.0%} on {backtest.metric}: "
                        f"{challengers[best]:.4f} against {held:.4f}", backtest)
    return Decision(model, run_date, champion, champion,
                    f"{champion} holds on {backtest.metric}: {held:.4f} against {best}'s "
                    f"{challengers[best]:.4f} (a challenger must beat it by {margin:.0%})", backtest)
