"""A complete day reruns only when what produced it changed: its files, the configuration, the
code, the model decisions in force at D, or an earlier day; otherwise a rerun is a no-op."""
import json
import logging
from datetime import date

import pytest

from pipeline import inputs, stages
from pipeline.context import RunContext
from pipeline.definition import Stage, run_days
from pipeline.settings import Settings
from tests.conftest import write_day, write_tiny_source
from warehouse import db, ledger
from warehouse.ledger import DayState

D1, D2 = date(2025, 3, 1), date(2025, 3, 2)
ROW = "{n},10001,A,1,1.0,{d}T10:00:00Z,1,DE"


def runner(ctx):
    """run(days, force=False, context=ctx, catch_up=0) -> the days that reached the last stage
    of ingest and a stage that completes them."""
    seen: list = []

    def last(ctx, window):
        seen.extend(window.days)
        return window

    pipeline = (Stage("ingest", stages.ingest), Stage("last", last, DayState.complete))

    def run(days, force=False, context=ctx, catch_up=0):
        seen.clear()
        run_days(context, days, force=force, pipeline=pipeline, catch_up=catch_up)
        return list(seen)

    return run


@pytest.fixture
def shop(tiny_source, ctx):
    """Two days of the tiny source run through ingest and a last stage that completes them;
    returns (run, the landing folder)."""
    _, landing = tiny_source
    for n, d in enumerate((D1, D2)):
        write_day(landing, d, [ROW.format(n=n, d=d)])
    run = runner(ctx)
    assert run([D1, D2]) == [D1, D2]
    return run, landing


def test_a_file_that_arrives_after_its_day_ran_without_one_is_picked_up_by_the_next_daily_run(
        tmp_path, data_dir, monkeypatch, caplog):
    """On a trading-days calendar no file means no trading: a late export was published as a
    day without sales and stayed so. The next daily run now reruns it, and the days after it."""
    monkeypatch.setenv("SHOPCAST_SOURCE_CONFIG",
                       str(write_tiny_source(tmp_path, calendar="trading_days")))
    ctx = RunContext.build(Settings())
    landing = ctx.source.landing_path(ctx.settings.root)
    caplog.set_level(logging.INFO, logger="shopcast")
    D3, D4 = date(2025, 3, 3), date(2025, 3, 4)
    write_day(landing, D1, [ROW.format(n=1, d=D1)])
    run = runner(ctx)
    assert run([D1, D2, D3], catch_up=7) == [D1, D2, D3]  # D2 and D3 without a file: no sales
    write_day(landing, D2, [ROW.format(n=2, d=D2)])       # D2's export, late
    assert run([D4], catch_up=7) == [D2, D3, D4]
    assert "2025-03-02 ran without a file, which has arrived since" in caplog.text
    with db.reader(ctx.settings) as con:
        assert ledger.records(con, D2, D2)[D2].lines == 1
    assert run([D4], catch_up=7) == []   # D3 and D4 still have none: nothing to pick up
    write_day(landing, D3, [ROW.format(n=3, d=D3)])
    assert run([D4], catch_up=0) == []   # a run without catch-up (a backfill) does not look back


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
