from datetime import date

from warehouse import db, ledger
from warehouse.ledger import DayState


def test_missing_days_and_first_unresolved_failure(settings):
    with db.writer(settings) as con:
        for d in (1, 2, 4):
            ledger.set_state(con, date(2025, 3, d), DayState.complete, "finish")
        ledger.set_state(con, date(2025, 3, 5), DayState.failed, "ingest", "bad file")
        ledger.set_state(con, date(2025, 3, 6), DayState.skipped, "operator", "lost export")
        assert ledger.missing_days(con, date(2025, 3, 1), date(2025, 3, 7)) == [
            date(2025, 3, 3), date(2025, 3, 5)]
        assert ledger.first_unresolved_failure(con, before=date(2025, 3, 8)).run_date == date(2025, 3, 5)
        assert ledger.first_unresolved_failure(con, before=date(2025, 3, 5)) is None
        ledger.set_state(con, date(2025, 3, 5), DayState.skipped, "operator", "accepted loss")
        assert ledger.first_unresolved_failure(con, before=date(2025, 3, 8)) is None
        assert ledger.last_done_day(con) == date(2025, 3, 6)


def test_one_data_dir_holds_one_source(settings):
    import pytest

    with db.writer(settings) as con:
        db.bind_source(con, "online_retail")
        db.bind_source(con, "online_retail")
        with pytest.raises(ValueError, match="SHOPCAST_DATA_DIR"):
            db.bind_source(con, "synthetic")
