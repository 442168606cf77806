"""The retraining policy: drift on a model's inputs, or realised quality worse than the
baseline's by a margin on consecutive scored days, asks for a retrain in the next run, with a
cooldown after each request. Pure: the monitor stage hands in the day's verdict, the recent
realised quality and the earlier requests, and records the decision.

A request at run date D is honoured point in time: models trained on data up to D stop being
used for run dates after D (models/registry.py, ``not_trained_by``), so the next run trains one
on the data up to its own run date, never on data after it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from monitoring.config import RetrainingSettings

# realised-quality metric per model: (table in realised.json, metric, segment, lower is better)
QUALITY = {"forecaster": ("forecasts", "wrmsse", "all", True),
           "recommender": ("recommendations", "recall_at_20", "all", False)}


@dataclass(frozen=True)
class Decision:
    model: str
    requested: bool
    reason: str
    numbers: dict

    def as_dict(self) -> dict:
        return {"requested": self.requested, "reason": self.reason, "numbers": self.numbers}


def worse_than_baseline(realised: dict, model: str, margin: float) -> tuple[bool, dict] | None:
    """Whether the served model scored worse than the baseline by ``margin`` (a fraction of the
    baseline's score), with the numbers; None where that day has no realised quality."""
    table, metric, segment, lower_better = QUALITY[model]
    r = realised.get(table)
    if not r:
        return None
    served, baseline = r["model"][segment][metric], r["baseline"][segment][metric]
    worse = served > baseline * (1 + margin) if lower_better else served < baseline * (1 - margin)
    return worse, {"origin": r["origin"], metric: served, f"baseline_{metric}": baseline}


def decide(model: str, run_date: date, drift: dict, realised_days: dict[date, dict],
           last_request: date | None, settings: RetrainingSettings) -> Decision:
    """The decision for ``model`` at ``run_date``: ``drift`` is the day's verdict,
    ``realised_days`` the realised quality of the recent scored days (newest last)."""
    inputs = getattr(settings, f"{model}_inputs")
    drifted = {c: drift["datasets"][c.partition(".")[0]]["columns"][c.partition(".")[2]]["score"]
               for c in drift.get("alarm_columns", []) if c.partition(".")[0] in inputs}
    scored = [(d, worse_than_baseline(r, model, settings.quality_margin))
              for d, r in sorted(realised_days.items()) if d <= run_date]
    scored = [(d, s) for d, s in scored if s is not None][-settings.quality_days:]
    losing = len(scored) == settings.quality_days and all(s[0] for _, s in scored)
    numbers = {"drifted": drifted, "realised": {str(d): s[1] for d, s in scored}}
    if drifted:
        reason = "input drift: " + ", ".join(f"{c} {v:.3f}" for c, v in drifted.items())
    elif losing:
        reason = (f"realised quality worse than the baseline by more than "
                  f"{settings.quality_margin:.0%} on the last {settings.quality_days} scored days")
    else:
        return Decision(model, False, "no drift on its inputs; realised quality holds", numbers)
    if last_request is not None and run_date - last_request < timedelta(days=settings.cooldown_days):
        return Decision(model, False, f"{reason}; in cooldown after the request of {last_request}",
                        numbers)
    return Decision(model, True, reason, numbers)
