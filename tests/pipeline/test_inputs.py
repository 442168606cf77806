"""A complete day reruns only when what produced it changed: its files, the configuration, the
code, the model decisions in force at D, or an earlier day; otherwise a rerun is a no-op."""
import json
import logging
from datetime import date

import pytest

from pipeline import inputs, stages
from pipeline.context import RunContext
from pipeline.definition import Stage, run_days
from tests.conftest import write_day
from warehouse import db, ledger
from warehouse.ledger import DayState

D1, D2 = date(2025, 3, 1), date(2025, 3, 2)
ROW = "{n},10001,A,1,1.0,{d}T10:00:00Z,1,DE"


@pytest.fixture
def shop(tiny_source, ctx):
    """Two days of the tiny source run through ingest and a last stage that completes them;
    returns run(days, force=False, ctx=ctx) -> the days the last stage saw."""
    _, landing = tiny_source
    for n, d in enumerate((D1, D2)):
        write_day(landing, d, [ROW.format(n=n, d=d)])
    seen: list = []

    def last(ctx, window):
        seen.extend(window.days)
        return window

    pipeline = (Stage("ingest", stages.ingest), Stage("last", last, DayState.complete))

    def run(days, force=False, context=ctx):
        seen.clear()
        run_days(context, days, force=force, pipeline=pipeline)
        return list(seen)

    assert run([D1, D2]) == [D1, D2]
    return run, landing


def test_a_rerun_with_the_same_inputs_is_a_no_op_and_force_recomputes(shop):
    run, _ = shop
    assert run([D1, D2]) == []
    assert run([D2], force=True) == [D2]
    assert run([D1, D2]) == []  # recomputed from the same inputs: the same fingerprint


def test_a_redelivered_file_reruns_its_day_and_the_days_after_it(shop, settings, caplog):
    run, landing = shop
    caplog.set_level(logging.INFO, logger="shopcast")
    write_day(landing, D2, [ROW.format(n=5, d=D2), ROW.format(n=6, d=D2)])
    assert run([D1, D2]) == [D2]
    assert "2025-03-02 reruns: its files changed" in caplog.text
    assert run([D1, D2]) == []

    write_day(landing, D1, [ROW.format(n=7, d=D1)])
    assert run([D1, D2]) == [D1, D2]  # D2's history changed with D1
    write_day(landing, D1, [ROW.format(n=0, d=D1)])
    assert run([D1]) == [D1]
    assert run([D2]) == [D2]  # rerun on its own later: the day before it is not what it read
    with db.reader(settings) as con:
        parts = json.loads(con.execute("SELECT parts FROM ops.day_inputs WHERE run_date = ?",
                                       [D2]).fetchone()[0])
    assert set(parts) == set(inputs.PARTS)


def test_a_model_decision_or_a_setting_reruns_the_days_it_reaches(shop, settings):
    run, _ = shop
    with db.writer(settings) as con:  # the operator promotes a model from D2 on
        con.execute("INSERT INTO ops.model_gate VALUES (?, 'forecaster', 'baseline', '{}')", [D2])
    assert run([D1, D2]) == [D2]
    longer = RunContext.build(settings.model_copy(update={
        "forecaster": settings.forecaster.model_copy(update={"outer_steps": 7})}))
    assert run([D1, D2], context=longer) == [D1, D2]
    assert run([D1, D2], context=longer) == []


def test_skipped_days_and_days_completed_before_inputs_were_recorded_are_kept(shop, settings):
    run, landing = shop
    with db.writer(settings) as con:
        con.execute("DELETE FROM ops.day_inputs WHERE run_date = ?", [D1])
        ledger.set_state(con, D2, DayState.skipped, "skip", "accepted")
    write_day(landing, D2, [ROW.format(n=9, d=D2)])
    assert run([D1, D2]) == []
