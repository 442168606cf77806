"""The day's stages, in order, and the one function that runs run dates through them.

Every entry point runs this list: the Prefect flows (flows/), the command line, the benchmark
(bench/child.py) and the tests. Adding a stage is one entry in STAGES.
"""
from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from pipeline import inputs, monitor, predict, stages
from pipeline.context import DayFailed, DayNotReady, RunContext, Stop, Window, log
from warehouse import db, ledger
from warehouse.ledger import DayState


@dataclass(frozen=True)
class Stage:
    name: str                                 # what the ledger records when a day fails here
    run: Callable[[RunContext, Window], Window]
    reaches: DayState | None = None           # the ledger state of the days that pass it
    transient: tuple[type[BaseException], ...] = ()  # errors worth retrying (the flows retry them)


STAGES: tuple[Stage, ...] = (
    Stage("ingest", stages.ingest, transient=(OSError,)),  # source files -> incoming area
    Stage("gate", stages.gate_raw),                    # raw data gate, day by day in order
    Stage("promote", stages.promote, DayState.ingested),  # incoming -> raw tables
    Stage("transform", stages.transform_window, DayState.transformed),  # dbt build
    Stage("features", stages.check_features),          # features gate on the marts
    Stage("forecast", predict.forecast_window),
    Stage("recommend", predict.recommend_window),
    Stage("predictions", stages.check_predictions),    # predictions gate
    Stage("publish", stages.publish_days),
    Stage("monitor", monitor.monitor_days, DayState.complete),  # drift, realised quality,
                                                    # retraining decisions (ops.retrain_decisions)
)
STAGE_NAMES = tuple(s.name for s in STAGES)


def stages_until(last: str) -> tuple[Stage, ...]:
    """The stages up to and including ``last`` (a backfill ``--through`` a stage, tests and
    benchmarks that stop early)."""
    stages_named(last)  # an unknown name: the error lists the stages
    return STAGES[:STAGE_NAMES.index(last) + 1]


def stages_named(*names: str) -> tuple[Stage, ...]:
    """Some stages, in the pipeline's order whatever the order asked."""
    unknown = set(names) - set(STAGE_NAMES)
    if unknown:
        raise ValueError(f"no stage {sorted(unknown)}; the stages are {', '.join(STAGE_NAMES)}")
    return tuple(s for s in STAGES if s.name in names)


# How a stage is called: directly here; the Prefect flows pass one that runs it as a task.
StageCall = Callable[[Stage, RunContext, Window], Window]
Observer = Callable[[RunContext, Stage, Window, "RunOutcome"], None]  # after each stage


def call_directly(stage: Stage, ctx: RunContext, window: Window) -> Window:
    return stage.run(ctx, window)


@dataclass
class RunOutcome:
    """What a run of run dates did: the days complete, and the stop that halted it, if any."""
    todo: list[date]
    done: list[date] = field(default_factory=list)
    reports: list[dict] = field(default_factory=list)
    stop: Stop | None = None
    failed_stage: str | None = None
    windows: list[Window] = field(default_factory=list)  # each window as the last stage left it
    stage_seconds: dict[str, float] = field(default_factory=dict)  # wall time, summed over windows

    @property
    def waiting(self) -> list[date]:
        return [d for d in self.todo if self.stop is not None and d > self.stop.run_date]


def run_window(ctx: RunContext, window: Window, outcome: RunOutcome,
               pipeline: tuple[Stage, ...] = STAGES, call: StageCall = call_directly,
               observers: tuple[Observer, ...] = ()) -> Window:
    """Consecutive run dates through the stages in order. A stage that stops at a day, or
    raises, fails that day (an exception without a day fails the first day not yet done): the
    ledger records the stage and the reason, the days before it go on, later days wait."""
    for stage in pipeline:
        if not window.days:
            break
        started = time.perf_counter()
        try:
            after = call(stage, ctx, window)
        except Exception as exc:  # noqa: BLE001 - any failure of a stage fails its day
            run_date = getattr(exc, "run_date", None) or window.start
            if db.disk_full(exc):  # the writer's own message may not say which disk
                exc = DayFailed(f"the disk holding {ctx.settings.root} is full "
                                f"({shutil.disk_usage(ctx.settings.root).free:,} bytes free): {exc}",
                                run_date)
            after = window.stopped_at(run_date, exc, not_ready=isinstance(exc, DayNotReady))
        outcome.stage_seconds[stage.name] = (outcome.stage_seconds.get(stage.name, 0.0)
                                             + time.perf_counter() - started)
        if after.stop is not None and outcome.stop is None:
            outcome.stop, outcome.failed_stage = after.stop, stage.name
            if not after.stop.not_ready:
                stages.record_failure(ctx.settings, after.stop.run_date, stage.name, after.stop.error)
        if stage.reaches is not None and after.days:
            stages.record_states(ctx, after, stage.reaches, stage.name)
        window = after
        for observe in observers:
            observe(ctx, stage, window, outcome)
    if pipeline[-1].reaches == DayState.complete:  # the days went all the way
        outcome.done += list(window.days)
        outcome.reports += [window.reports[d] for d in window.days if d in window.reports]
    return window.with_(histories={})  # the loaded histories are working memory, not a record


def run_days(ctx: RunContext, days: list[date], force: bool = False,
             pipeline: tuple[Stage, ...] = STAGES, call: StageCall = call_directly,
             observers: tuple[Observer, ...] = (), catch_up: int = 0,
             run: str | None = None) -> RunOutcome:
    """Run dates through the stages: the days not yet complete (all of them when ``force``),
    after checking that no earlier day blocks them, one window of consecutive days at a time;
    the first day that fails or is not ready stops the run and the days after it wait.

    Up to ``catch_up`` missed days before the first run date run first (the daily flow's
    catch-up after a missed schedule). One run per warehouse at a time: another run waits for
    this one, then fails naming ``run`` (db.run_lock)."""
    days = sorted(set(days))
    stages.check_in_calendar(ctx, days)
    run = run or (f"the run of {days[0]}..{days[-1]}" if days else "a run of no days")
    with db.run_lock(ctx.settings, run):
        if catch_up and days:
            missed = stages.earlier_days_to_run(ctx, days[0], catch_up)
            if missed:
                log.info("catching up %d missed day(s) first: %s .. %s", len(missed), missed[0],
                         missed[-1])
            late = days_whose_file_arrived(ctx, days[0], catch_up)
            if late:
                log.info("%s ran without a file, which has arrived since: %s reruns first, with "
                         "the days after it", ", ".join(map(str, late)), late[0])
                missed += days_between(late[0], days[0] - timedelta(days=1))
            days = sorted(set(missed + days))
        outcome = RunOutcome(plan_days(ctx, days, force))
        if not outcome.todo:
            return outcome
        stages.check_not_blocked(ctx, outcome.todo[0])
        try:
            return run_windows(ctx, outcome, pipeline, call, observers)
        finally:  # the morning's page shows a failed day too
            monitor.write_review_page(ctx)


def run_windows(ctx: RunContext, outcome: RunOutcome, pipeline: tuple[Stage, ...] = STAGES,
                call: StageCall = call_directly, observers: tuple[Observer, ...] = ()) -> RunOutcome:
    """``outcome.todo`` through the stages, one window of consecutive days at a time, until
    the first stop (no planning, no blocking check: ``run_days`` does those)."""
    for start, end in consecutive_windows(outcome.todo):
        outcome.windows.append(run_window(ctx, Window(tuple(days_between(start, end))), outcome,
                                          pipeline, call, observers))
        if outcome.stop is not None:
            break
    return outcome


def plan_days(ctx: RunContext, days: list[date], force: bool) -> list[date]:
    """The days still to do: every day when forced; else those not complete or skipped, and the
    complete days whose inputs changed since they ran (pipeline/inputs.py), with every complete
    day after a day to do (its history changes). Skipped days stay skipped."""
    days = sorted(set(days))
    if force or not ctx.settings.warehouse_path.exists() or not days:
        return days
    todo: list[date] = []
    with db.writer(ctx.settings) as con:
        records = ledger.records(con, days[0], days[-1])
        now = inputs.DayInputs(con, ctx)
        for d in days:
            status = records[d].status if d in records else None
            if status == DayState.skipped.value:
                continue
            if status != DayState.complete.value:
                todo.append(d)
                continue
            if todo:
                log.info("%s reruns: an earlier day of the run (%s) changes its history", d, todo[0])
                todo.append(d)
                continue
            changed = now.changed(d)
            if changed:
                log.info("%s reruns: its %s changed since it ran", d, ", ".join(changed))
                todo.append(d)
    return todo


def days_whose_file_arrived(ctx: RunContext, run_date: date, lookback: int) -> list[date]:
    """The complete days of the ``lookback`` days before ``run_date`` that ran without a file
    and whose file has arrived since: on a trading-days calendar no file means no trading, so a
    late export is first published as a day without sales. Only days without lines are looked
    at (a glob each), so the check costs a daily run nothing on days with sales; a file
    redelivered for a day with sales reruns it in a backfill (``plan_days``)."""
    if not ctx.settings.warehouse_path.exists():
        return []
    root = ctx.settings.root
    with db.writer(ctx.settings) as con:
        records = ledger.records(con, run_date - timedelta(days=lookback),
                                 run_date - timedelta(days=1))
        empty = [d for d, r in sorted(records.items()) if r.status == DayState.complete.value
                 and not r.lines and ctx.source.files_for(d, root)]
        if not empty:
            return []
        now = inputs.DayInputs(con, ctx)
        return [d for d in empty if "files" in now.changed(d)]


def days_between(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def consecutive_windows(days: list[date]) -> list[tuple[date, date]]:
    """[d1, d2, d3, d5] -> [(d1, d3), (d5, d5)]"""
    windows: list[tuple[date, date]] = []
    for d in sorted(days):
        if windows and d == windows[-1][1] + timedelta(days=1):
            windows[-1] = (windows[-1][0], d)
        else:
            windows.append((d, d))
    return windows


def raise_for_stop(outcome: RunOutcome) -> None:
    """The run's stop as the exception a caller sees: the stage's own error for one day, a
    summary naming the day and the days waiting for it when later days wait."""
    stop = outcome.stop
    if stop is None:
        return
    if not outcome.waiting:
        raise stop.error
    what = "is not ready" if stop.not_ready else f"failed at stage {outcome.failed_stage}"
    raise DayFailed(
        f"stopped: {stop.run_date} {what}: {stop.error}; {len(outcome.waiting)} later day(s) "
        f"wait. Fix and rerun, or `shopcast skip {stop.run_date} --reason ...`", stop.run_date
    ) from stop.error

