"""Alerts: what a run tells the operators, posted through Prefect's webhook notification block
to a receiver on 127.0.0.1."""
from __future__ import annotations

from datetime import date

from flows.alerts import Alert, alerts_of, send
from pipeline.context import DayFailed, Stop
from pipeline.definition import RunOutcome

DAY = date(2025, 4, 12)


class Ctx:  # what alerts_of reads of the run context
    class source:
        name = "shop"


def report(alarm: bool, retrain: bool) -> dict:
    return {"run_date": str(DAY),
            "drift": {"alarm": alarm, "alarm_columns": ["item_days.price_ratio"] if alarm else [],
                      "reference": ["2025-02-14", "2025-03-13"]},
            "retraining": {"forecaster": {"requested": retrain, "reason": "input drift: x"},
                           "recommender": {"requested": False, "reason": "no drift"}}}


def test_a_run_alerts_on_drift_a_retrain_and_a_blocking_gate():
    outcome = RunOutcome([DAY, date(2025, 4, 13)], done=[DAY], reports=[report(True, True)],
                         stop=Stop(date(2025, 4, 13), DayFailed("volume 10x")), failed_stage="gate")
    events = [(a.event, a.run_date) for a in alerts_of(Ctx, outcome)]
    assert events == [("drift", str(DAY)), ("retrain", str(DAY)), ("gate_blocked", "2025-04-13")]


def test_a_quiet_run_alerts_on_nothing_and_a_late_file_is_not_a_failure():
    quiet = RunOutcome([DAY], done=[DAY], reports=[report(False, False)])
    assert alerts_of(Ctx, quiet) == []
    late = RunOutcome([DAY], stop=Stop(DAY, DayFailed("no file yet"), not_ready=True), failed_stage="ingest")
    assert alerts_of(Ctx, late) == []


def test_alerts_reach_a_webhook_and_an_unreachable_one_does_not_raise(webhook):
    url, received = webhook
    sent = send(url, "shop", [Alert("drift", str(DAY), "shopcast shop: drift", "item_days.price_ratio")])
    assert sent == 1
    assert received == [{"source": "shop", "event": "drift", "run_date": str(DAY),
                         "subject": "shopcast shop: drift", "body": "item_days.price_ratio"}]
    assert send("http://127.0.0.1:9/nothing", "shop", [Alert("drift", None, "s", "b")]) == 0
    assert send(None, "shop", [Alert("drift", None, "s", "b")]) == 0
