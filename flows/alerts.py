"""Alerts through Prefect's webhook notification block: a failed day, a gate that blocked a day,
drift over threshold on a model's inputs, a retrain asked for. Each is one POST of JSON
(``{"source", "event", "run_date", "subject", "body"}``) to ``SHOPCAST_ALERT_WEBHOOK``
(Slack, Teams, an incident tool's inbound hook, or a saved Prefect block's URL); nothing is sent
without one. A failed delivery is logged, never the run's failure.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from pipeline.context import RunContext
from pipeline.definition import RunOutcome

log = logging.getLogger("shopcast")
GATES = ("gate", "features", "predictions")


@dataclass(frozen=True)
class Alert:
    event: str        # day_failed, gate_blocked, drift, retrain
    run_date: str | None
    subject: str
    body: str


def alerts_of(ctx: RunContext, outcome: RunOutcome) -> list[Alert]:
    """What a run should tell the operators: from its stop and its complete days' reports."""
    source, out = ctx.source.name, []
    for report in outcome.reports:
        d = report["run_date"]
        drift = report.get("drift") or {}
        if drift.get("alarm"):
            out.append(Alert("drift", d, f"shopcast {source}: drift on {d}",
                             f"{', '.join(drift['alarm_columns'])} drifted against "
                             f"{' .. '.join(drift['reference'])}"))
        for model, decision in (report.get("retraining") or {}).items():
            if decision["requested"]:
                out.append(Alert("retrain", d, f"shopcast {source}: {model} retrain asked for on {d}",
                                 decision["reason"]))
    stop = outcome.stop
    if stop is not None and not stop.not_ready:
        event = "gate_blocked" if outcome.failed_stage in GATES else "day_failed"
        what = "blocked by the " + outcome.failed_stage + " gate" if event == "gate_blocked" else \
            f"failed at stage {outcome.failed_stage}"
        out.append(Alert(event, str(stop.run_date), f"shopcast {source}: {stop.run_date} {what}",
                         f"{str(stop.error)[:1000]}\n{len(outcome.waiting)} later day(s) wait."))
    return out


def send(webhook: str | None, source: str, alerts: list[Alert]) -> int:
    """POST each alert through Prefect's CustomWebhookNotificationBlock; the number sent."""
    if not webhook or not alerts:
        return 0
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    sent = 0
    for alert in alerts:
        block = CustomWebhookNotificationBlock(
            name="shopcast", url=webhook, allow_private_urls=True,
            json_data={"source": source, "event": alert.event, "run_date": alert.run_date,
                       "subject": "{{subject}}", "body": "{{body}}"})
        try:
            block.notify(alert.body, alert.subject)
            sent += 1
        except Exception as exc:  # noqa: BLE001 - an unreachable hook must not fail the day
            log.warning("alert %r not delivered to %s: %s", alert.subject, webhook, exc)
    return sent


def alert_run(ctx: RunContext, outcome: RunOutcome) -> int:
    return send(ctx.settings.alert_webhook, ctx.source.name, alerts_of(ctx, outcome))


def alert_blocked(ctx: RunContext, error: Exception) -> int:
    """A run that could not start: an earlier day failed or is missing."""
    return send(ctx.settings.alert_webhook, ctx.source.name, [Alert(
        "day_failed", getattr(error, "run_date", None) and str(error.run_date),
        f"shopcast {ctx.source.name}: a run waits for an earlier day", str(error)[:1000])])
