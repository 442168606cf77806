"""The stages as Prefect tasks: a failed source read is retried with backoff, other failures are
not, and a stage past its timeout fails its day with a reason in the ledger."""
from __future__ import annotations

import time
from datetime import date

import pytest
from prefect import flow

from flows import tasks
from pipeline.context import Window
from pipeline.definition import Stage, run_days
from tests.conftest import history_starts
from warehouse import db, ledger
from warehouse.ledger import DayState

pytestmark = pytest.mark.slow
D = date(2025, 3, 1)


@pytest.fixture(autouse=True)
def first_file(request):
    history_starts(request, D)


def _flaky(failures: int, attempts: list, error=ConnectionResetError("the share went away")):
    def run(ctx, window):
        attempts.append(time.monotonic())
        if len(attempts) <= failures:
            raise error
        return window
    return run


def _call(settings, stage: Stage, **changes):
    fast = settings.model_copy(update={"source_read_backoff_s": 0.2, **changes})

    @flow
    def one_stage():
        return tasks.prefect_call(fast)(stage, None, Window((D,)))

    return one_stage()


def test_a_failed_source_read_is_retried_with_backoff(prefect_harness, settings):
    attempts: list = []
    stage = Stage("ingest", _flaky(2, attempts), transient=(OSError,))
    assert _call(settings, stage, source_read_retries=2).days == (D,)
    assert len(attempts) == 3
    assert attempts[2] - attempts[1] > attempts[1] - attempts[0] >= 0.15  # 0.2 s, then 0.4 s

    attempts.clear()
    with pytest.raises(ConnectionResetError):
        _call(settings, stage, source_read_retries=1)
    assert len(attempts) == 2


def test_errors_that_are_not_transient_fail_at_once(prefect_harness, settings):
    attempts: list = []
    with pytest.raises(ConnectionResetError):  # the same error, from a stage that reads no source
        _call(settings, Stage("transform", _flaky(1, attempts)), source_read_retries=3)
    with pytest.raises(ValueError):
        _call(settings, Stage("ingest", _flaky(5, attempts, ValueError("bad")), transient=(OSError,)))
    assert len(attempts) == 2


def test_a_stage_past_its_timeout_fails_its_day(prefect_harness, ctx, settings):
    def slow(ctx, window):
        time.sleep(30)
        return window

    pipeline = (Stage("transform", slow), Stage("last", lambda c, w: w, DayState.complete))
    impatient = settings.model_copy(update={"stage_timeout_s": 1.0})

    @flow
    def one_day():
        return run_days(ctx, [D], pipeline=pipeline, call=tasks.prefect_call(impatient))

    started = time.monotonic()
    outcome = one_day()
    assert time.monotonic() - started < 20
    assert outcome.failed_stage == "transform" and outcome.done == []
    with db.reader(settings) as con:
        record = ledger.records(con)[D]
    assert (record.status, record.stage) == ("failed", "transform")
    assert "TimeoutError" in record.message and "1.0" in record.message
