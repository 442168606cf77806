"""Stage functions without Prefect: calendars, missing files, blocking after a failure."""
from datetime import date, datetime, timezone

import pytest

from flows import stages
from sources.config import load_source_config
from tests.conftest import write_day, write_tiny_source

D = date(2025, 3, 1)


def test_daily_source_waits_for_a_missing_file_then_fails_the_day(settings, tiny_source):
    cfg, _ = tiny_source
    with pytest.raises(stages.DayNotReady, match="waits until"):
        stages.stage_day(settings, cfg, D, now=datetime(2025, 3, 2, 4, 0, tzinfo=timezone.utc))
    with pytest.raises(stages.DayFailed, match="no file .*sales_2025-03-01\\*.csv"):
        stages.stage_day(settings, cfg, D, now=datetime(2025, 3, 2, 6, 0, tzinfo=timezone.utc))


def test_trading_days_source_completes_a_day_without_file_with_zero_sales(tmp_path, data_dir, settings):
    cfg = load_source_config(write_tiny_source(tmp_path, calendar="trading_days"))
    incoming = stages.stage_day(settings, cfg, D)
    assert incoming.lines == 0 and incoming.files == []


def test_later_days_wait_for_a_failed_day_until_it_is_skipped(settings, tiny_source):
    cfg, landing = tiny_source
    write_day(landing, D, ["1,10001,A,1,1.0,2025-03-01T10:00:00Z,1,DE"])
    stages.promote_days(settings, cfg, [stages.stage_day(settings, cfg, D)])
    stages.record_failure(settings, D, "transform", RuntimeError("dbt test failed"))
    with pytest.raises(stages.DayBlocked, match="2025-03-01 failed at stage transform"):
        stages.check_not_blocked(settings, cfg, date(2025, 3, 2))
    stages.mark_skipped(settings, D, "accepted")
    stages.check_not_blocked(settings, cfg, date(2025, 3, 2))


def test_a_day_waits_for_missing_earlier_days(settings, tiny_source):
    from warehouse import db, ledger

    cfg, _ = tiny_source
    with db.writer(settings) as con:
        ledger.set_state(con, date(2025, 3, 1), ledger.DayState.complete, "finish")
    with pytest.raises(stages.DayBlocked, match=r"2025-03-02 .. 2025-03-02"):
        stages.check_not_blocked(settings, cfg, date(2025, 3, 3))
