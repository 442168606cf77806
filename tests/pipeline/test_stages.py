"""Stage functions without Prefect: calendars, missing files, blocking after a failure."""
import logging
from datetime import date, datetime, timezone

import pytest

from pipeline.context import DayBlocked, DayFailed, DayNotReady, RunContext
from pipeline.settings import Settings
from pipeline.stages import (
    check_not_blocked,
    earlier_days_to_run,
    mark_skipped,
    record_failure,
    stage_day,
)
from tests.conftest import run_stages, write_day, write_tiny_source
from warehouse import db, ledger

D = date(2025, 3, 1)


def test_daily_source_waits_for_a_missing_file_then_fails_the_day(ctx):
    with pytest.raises(DayNotReady, match="waits until"):
        stage_day(ctx, D, now=datetime(2025, 3, 2, 4, 0, tzinfo=timezone.utc))
    with pytest.raises(DayFailed, match="no file .*sales_2025-03-01\\*.csv"):
        stage_day(ctx, D, now=datetime(2025, 3, 2, 6, 0, tzinfo=timezone.utc))


def test_trading_days_source_completes_a_day_without_file_with_zero_sales(tmp_path, data_dir,
                                                                          monkeypatch, caplog):
    monkeypatch.setenv("SHOPCAST_SOURCE_CONFIG",
                       str(write_tiny_source(tmp_path, calendar="trading_days")))
    caplog.set_level(logging.INFO, logger="shopcast")
    incoming = stage_day(RunContext.build(Settings()), D)
    assert incoming.lines == 0 and incoming.files == []
    # said in the log, with the file it looked for: a late export is told from a closed day
    assert "2025-03-01: no file " in caplog.text and "sales_2025-03-01*.csv" in caplog.text


def test_later_days_wait_for_a_failed_day_until_it_is_skipped(tiny_source, settings, ctx):
    cfg, landing = tiny_source
    write_day(landing, D, ["1,10001,A,1,1.0,2025-03-01T10:00:00Z,1,DE"])
    run_stages(settings, [D], until="promote")
    record_failure(settings, D, "transform", RuntimeError("dbt test failed"))
    with pytest.raises(DayBlocked, match="2025-03-01 failed at stage transform"):
        check_not_blocked(ctx, date(2025, 3, 2))
    mark_skipped(settings, [D], "accepted")
    check_not_blocked(ctx, date(2025, 3, 2))


def test_a_day_waits_for_missing_earlier_days(settings, ctx):
    with db.writer(settings) as con:
        ledger.set_state(con, date(2025, 3, 1), ledger.DayState.complete, "publish")
    with pytest.raises(DayBlocked, match=r"2025-03-02 .. 2025-03-02"):
        check_not_blocked(ctx, date(2025, 3, 3))


def test_a_daily_run_catches_up_a_few_missed_days_and_names_the_backfill_for_more(settings, ctx):
    with db.writer(settings) as con:
        ledger.set_state(con, date(2025, 3, 1), ledger.DayState.complete, "publish")
        ledger.set_state(con, date(2025, 3, 3), ledger.DayState.ingested, "promote")  # killed
    missed = [date(2025, 3, 2), date(2025, 3, 3), date(2025, 3, 4)]
    assert earlier_days_to_run(ctx, date(2025, 3, 5), catch_up=3) == missed
    with pytest.raises(DayBlocked, match=r"3 earlier day\(s\) not complete .*shopcast backfill "
                       r"--start 2025-03-02 --end 2025-03-05 \(a daily run catches up at most 2\)"):
        earlier_days_to_run(ctx, date(2025, 3, 5), catch_up=2)
    assert earlier_days_to_run(ctx, date(2025, 3, 2), catch_up=3) == []


def test_catching_up_leaves_a_failed_day_to_its_fix(settings, ctx):
    with db.writer(settings) as con:
        ledger.set_state(con, date(2025, 3, 1), ledger.DayState.complete, "publish")
    record_failure(settings, date(2025, 3, 2), "ingest", ValueError("empty file"))
    with pytest.raises(DayBlocked, match="2025-03-02 failed at stage ingest"):
        earlier_days_to_run(ctx, date(2025, 3, 4), catch_up=7)
    # where failed days do not block, the catch-up runs the others and leaves it behind
    lenient = RunContext.build(settings.model_copy(update={"block_on_failed_days": False}))
    assert earlier_days_to_run(lenient, date(2025, 3, 4), catch_up=7) == [date(2025, 3, 3)]


def test_a_run_date_outside_the_sources_calendar_is_refused_before_anything_is_recorded(
        tiny_source, settings, ctx):
    from pipeline.definition import run_days
    from pipeline.stages import OutsideCalendar, check_in_calendar

    cfg, landing = tiny_source
    with pytest.raises(OutsideCalendar, match="no file yet"):
        run_days(ctx, [D])
    write_day(landing, D, ["1,10001,A,1,1.0,2025-03-01T10:00:00Z,1,DE"])
    with pytest.raises(OutsideCalendar, match="2025-02-28 is before the tiny source's first file"):
        run_days(ctx, [date(2025, 2, 28), D])
    with pytest.raises(OutsideCalendar, match="2025-03-03 is in the future .*2025-03-02"):
        check_in_calendar(ctx, [D, date(2025, 3, 3)], now=datetime(2025, 3, 2, 12, tzinfo=timezone.utc))
    check_in_calendar(ctx, [D], now=datetime(2025, 3, 2, 12, tzinfo=timezone.utc))
    assert not settings.warehouse_path.exists()  # nothing recorded, no ledger row to block on


def test_skip_takes_a_range_and_leaves_complete_days_complete(settings):
    with db.writer(settings) as con:
        ledger.set_state(con, date(2025, 3, 2), ledger.DayState.complete, "publish")
        ledger.set_state(con, date(2025, 3, 3), ledger.DayState.failed, "gate", "bad")
    marked = mark_skipped(settings, [date(2025, 3, d) for d in range(1, 5)], "the shop was closed")
    assert marked == [date(2025, 3, 1), date(2025, 3, 3), date(2025, 3, 4)]
    with db.writer(settings) as con:
        states = {d: r.status for d, r in ledger.records(con, date(2025, 3, 1), date(2025, 3, 4)).items()}
    assert states == {date(2025, 3, 1): "skipped", date(2025, 3, 2): "complete",
                      date(2025, 3, 3): "skipped", date(2025, 3, 4): "skipped"}
