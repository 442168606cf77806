"""The one list of stages and the runner every entry point uses: order, ledger states, and what a
stage that stops or raises does to its day and the days after it."""
import ast
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from domain.paths import REPO_ROOT
from pipeline.context import DayFailed, DayNotReady, RunContext, Window
from pipeline.definition import STAGE_NAMES, STAGES, RunOutcome, Stage, run_days, run_windows
from tests.conftest import history_starts
from warehouse import db, ledger
from warehouse.ledger import DayState

DAYS = [date(2025, 3, 1) + timedelta(days=i) for i in range(4)]


@pytest.fixture(autouse=True)
def first_file(request):
    history_starts(request, DAYS[0])


def test_the_day_runs_ingest_to_monitor_in_this_order():
    assert STAGE_NAMES == ("ingest", "gate", "promote", "transform", "features", "forecast",
                           "recommend", "predictions", "publish", "monitor")
    states = [s.reaches for s in STAGES if s.reaches]
    assert states == [DayState.ingested, DayState.transformed, DayState.complete]


def _recorder(name, calls, stop_at=None, raises=None, reaches=None):
    def run(ctx, window):
        calls.append((name, window.days))
        if raises is not None:
            raise raises
        if stop_at is not None and stop_at in window.days:
            return window.stopped_at(stop_at, DayFailed(f"{name} refused {stop_at}", stop_at))
        return window
    return Stage(name, run, reaches)


def test_a_stage_that_stops_at_a_day_lets_earlier_days_finish_and_later_ones_wait(ctx, settings):
    calls = []
    pipeline = (_recorder("first", calls, reaches=DayState.ingested),
                _recorder("second", calls, stop_at=DAYS[2]),
                _recorder("last", calls, reaches=DayState.complete))
    outcome = run_windows(ctx, RunOutcome(DAYS), pipeline)
    assert calls == [("first", tuple(DAYS)), ("second", tuple(DAYS)), ("last", tuple(DAYS[:2]))]
    assert (outcome.done, outcome.stop.run_date, outcome.failed_stage) == (DAYS[:2], DAYS[2], "second")
    assert outcome.waiting == [DAYS[3]]
    with db.reader(settings) as con:
        records = ledger.records(con)
    assert [records[d].status for d in DAYS] == ["complete", "complete", "failed", "ingested"]
    assert records[DAYS[2]].stage == "second" and "refused" in records[DAYS[2]].message


def test_an_exception_fails_the_first_day_and_stops_the_run(ctx, settings):
    calls = []
    pipeline = (_recorder("boom", calls, raises=RuntimeError("disk full")),
                _recorder("never", calls))
    outcome = run_windows(ctx, RunOutcome([DAYS[0], DAYS[2]]), pipeline)
    assert calls == [("boom", (DAYS[0],))]  # the second window never starts
    assert outcome.stop.run_date == DAYS[0] and outcome.done == []
    with db.reader(settings) as con:
        assert ledger.records(con)[DAYS[0]].message == "RuntimeError: disk full"


def test_a_day_not_ready_is_not_a_failure(ctx, settings):
    pipeline = (_recorder("wait", [], raises=DayNotReady("no file yet")),)
    outcome = run_windows(ctx, RunOutcome([DAYS[0]]), pipeline)
    assert outcome.stop.not_ready
    with db.writer(settings) as con:
        assert DAYS[0] not in ledger.records(con)


def test_complete_days_are_not_run_again_unless_forced(ctx, settings):
    with db.writer(settings) as con:
        ledger.set_state(con, DAYS[0], DayState.complete, "publish")
    calls = []
    pipeline = (_recorder("only", calls),)
    run_days(ctx, DAYS[:2], pipeline=pipeline)
    assert calls == [("only", (DAYS[1],))]
    run_days(ctx, DAYS[:2], force=True, pipeline=pipeline)
    assert calls[-1] == ("only", tuple(DAYS[:2]))


HOLDER = """
import sys, time
from pipeline.settings import Settings
from warehouse import db
with db.run_lock(Settings(), sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _another_run(what: str, seconds: float) -> subprocess.Popen:
    """A run of the same warehouse in another process, holding it for ``seconds``."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, what, str(seconds)], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def _waiting(settings, seconds: float) -> RunContext:
    return RunContext.build(settings.model_copy(update={"run_lock_wait_s": seconds}))


def test_a_second_run_of_the_warehouse_fails_naming_the_first_and_changes_nothing(ctx, settings):
    calls = []
    pipeline = (_recorder("only", calls, reaches=DayState.complete),)
    with db.writer(settings) as con:
        ledger.set_state(con, DAYS[1], DayState.complete, "publish")
        before = ledger.records(con)
    first = _another_run("backfill 2025-03-01..2025-03-31", 120)
    try:
        assert db.running(settings)["run"] == "backfill 2025-03-01..2025-03-31"
        impatient = _waiting(settings, 0.5)
        with pytest.raises(db.RunInProgress, match=rf"the run of {DAYS[0]}..{DAYS[0]} did not "
                           rf"start: backfill 2025-03-01..2025-03-31 \(pid {first.pid} on "):
            run_days(impatient, DAYS[:1], pipeline=pipeline)
        assert calls == []
        with db.reader(settings) as con:
            assert ledger.records(con) == before
    finally:  # killed as an out-of-memory kill would: the lock goes with it
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert db.running(settings) is None
    run_days(_waiting(settings, 0.5), DAYS[:1], pipeline=pipeline)
    assert calls == [("only", (DAYS[0],))]


def test_a_second_run_waits_for_the_first_to_end(ctx):
    calls = []
    first = _another_run("daily 2025-03-01", 1.5)
    started = time.monotonic()
    run_days(ctx, DAYS[:1], pipeline=(_recorder("only", calls),))
    assert time.monotonic() - started > 0.5 and calls == [("only", (DAYS[0],))]
    assert first.wait(timeout=10) == 0


@pytest.mark.parametrize("path", ["flows/daily.py", "flows/backfill.py", "bench/child.py"])
def test_entry_points_run_the_list_not_their_own_order(path):
    """No entry point calls a stage function itself: they hand run_days the list."""
    tree = ast.parse(Path(REPO_ROOT / path).read_text())
    called = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
              for n in ast.walk(tree) if isinstance(n, ast.Call)}
    stage_functions = {s.run.__name__ for s in STAGES}
    assert not called & stage_functions, f"{path} calls {called & stage_functions} directly"
    assert "run_days" in called or path == "bench/child.py"


def test_windows_are_immutable_between_stages():
    window = Window(tuple(DAYS))
    stopped = window.stopped_at(DAYS[1], DayFailed("x"))
    assert window.days == tuple(DAYS) and stopped.days == (DAYS[0],)


def test_each_stage_that_ran_has_its_wall_time_summed_over_the_windows(ctx):
    import time

    def slow(ctx, window):
        time.sleep(0.05)
        return window

    pipeline = (Stage("slow", slow, DayState.ingested), _recorder("quick", [], stop_at=DAYS[3]),
                _recorder("last", [], reaches=DayState.complete))
    outcome = run_windows(ctx, RunOutcome([DAYS[0], DAYS[2], DAYS[3]]), pipeline)
    assert list(outcome.stage_seconds) == ["slow", "quick", "last"]
    assert outcome.stage_seconds["slow"] >= 0.1  # two windows of 0.05 s each
    assert outcome.stage_seconds["quick"] < outcome.stage_seconds["slow"]
