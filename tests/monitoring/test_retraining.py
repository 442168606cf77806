"""The retraining policy: input drift or realised quality worse than the baseline on consecutive
scored days asks for a retrain, a cooldown holds a second request back, and nothing asks while
the model's inputs are quiet and its quality holds."""
from __future__ import annotations

from datetime import date, timedelta

from monitoring.config import RetrainingSettings
from monitoring.retraining import decide

DAY = date(2025, 6, 1)
SETTINGS = RetrainingSettings(quality_margin=0.05, quality_days=3, cooldown_days=14)


def verdict(*alarms: tuple[str, float]) -> dict:
    datasets: dict = {}
    for column, score in alarms:
        name, _, col = column.partition(".")
        datasets.setdefault(name, {"columns": {}})["columns"][col] = {"score": score, "drifted": True}
    return {"datasets": datasets, "alarm_columns": [c for c, _ in alarms]}


def realised(wrmsse: float, baseline: float, recall: float = 0.2, recall_baseline: float = 0.2) -> dict:
    return {"forecasts": {"origin": "x", "model": {"all": {"wrmsse": wrmsse}},
                          "baseline": {"all": {"wrmsse": baseline}}},
            "recommendations": {"origin": "x", "model": {"all": {"recall_at_20": recall}},
                                "baseline": {"all": {"recall_at_20": recall_baseline}}}}


def days(*scores) -> dict:
    return {DAY - timedelta(days=7 * (len(scores) - 1 - i)): r for i, r in enumerate(scores)}


def test_quiet_inputs_and_holding_quality_ask_for_nothing():
    d = decide("forecaster", DAY, verdict(), days(*[realised(0.9, 1.0)] * 3), None, SETTINGS)
    assert not d.requested and d.reason.startswith("no drift")


def test_drift_on_a_models_inputs_asks_for_its_retrain_with_the_numbers():
    drift = verdict(("item_days.price_ratio", 0.21))
    d = decide("forecaster", DAY, drift, {}, None, SETTINGS)
    assert d.requested and "item_days.price_ratio 0.210" in d.reason
    assert d.numbers["drifted"] == {"item_days.price_ratio": 0.21}
    other = decide("recommender", DAY, verdict(("raw_lines.quantity", 0.3)), {}, None, SETTINGS)
    assert not other.requested  # raw_lines is not one of the recommender's inputs


def test_quality_worse_than_the_baseline_on_three_scored_days_asks_two_do_not():
    losing = realised(1.2, 1.0)
    assert decide("forecaster", DAY, verdict(), days(losing, losing, losing), None, SETTINGS).requested
    assert not decide("forecaster", DAY, verdict(), days(losing, losing), None, SETTINGS).requested
    within_margin = realised(1.04, 1.0)
    assert not decide("forecaster", DAY, verdict(), days(*[within_margin] * 3), None, SETTINGS).requested
    lists = realised(1.0, 1.0, recall=0.15, recall_baseline=0.2)
    assert decide("recommender", DAY, verdict(), days(lists, lists, lists), None, SETTINGS).requested


def test_a_request_within_the_cooldown_is_held_back_and_says_so():
    drift = verdict(("item_days.units", 0.4))
    held = decide("forecaster", DAY, drift, {}, DAY - timedelta(days=5), SETTINGS)
    assert not held.requested and "cooldown" in held.reason
    assert decide("forecaster", DAY, drift, {}, DAY - timedelta(days=14), SETTINGS).requested
