"""Ingest replaces a day, never duplicates it, and a bad re-delivery never reaches raw tables."""
from datetime import date

import pytest

from pipeline.context import DayFailed
from tests.conftest import run_stages, write_day
from warehouse import db, ledger
from warehouse.checksums import table_checksum

D = date(2025, 3, 1)
GOOD = [
    "1,10001,A,2,1.50,2025-03-01T10:00:00Z,7.0,DE",
    "1,10002,B,1,3.00,2025-03-01T10:00:00Z,7.0,DE",
    "2,10001,A,1,1.50,2025-03-01T11:00:00Z,,DE",
    "3,POST,Postage,1,5.00,2025-03-01T11:00:00Z,8.0,DE",
    "4,10003,C,1,-2.00,2025-03-01T11:00:00Z,8.0,DE",
]


def _ingest(settings, cfg, day):
    """Ingest and promote, past the gate (a fifth of these lines is quarantined on purpose)."""
    outcome = run_stages(settings, [day], only=("ingest", "promote"))
    if outcome.stop is not None:
        raise outcome.stop.error
    return outcome.windows[-1].incoming[day]


def test_rerunning_a_day_replaces_it(tiny_source, settings):
    cfg, landing = tiny_source
    write_day(landing, D, GOOD)
    first = _ingest(settings, cfg, D)
    assert (first.lines, first.quarantined) == (4, 1)
    with db.reader(settings) as con:
        before = table_checksum(con, "raw.order_lines")
    _ingest(settings, cfg, D)
    _ingest(settings, cfg, D)
    with db.reader(settings) as con:
        assert table_checksum(con, "raw.order_lines") == before
        assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM ops.ingested_files").fetchone()[0] == 1
        assert ledger.records(con)[D].status == "ingested"


def test_a_corrected_redelivery_replaces_the_day(tiny_source, settings):
    cfg, landing = tiny_source
    write_day(landing, D, GOOD)
    _ingest(settings, cfg, D)
    write_day(landing, D, GOOD[:2])  # the shop re-sends a shorter, corrected file
    _ingest(settings, cfg, D)
    with db.reader(settings) as con:
        assert con.execute("SELECT count(*) FROM raw.order_lines").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone()[0] == 0


def test_a_bad_redelivery_leaves_good_rows_untouched(tiny_source, settings):
    cfg, landing = tiny_source
    write_day(landing, D, GOOD)
    _ingest(settings, cfg, D)
    other = date(2025, 3, 2)
    write_day(landing, other, ["9,10001,A,1,1.50,2025-03-02T10:00:00Z,7.0,DE"])
    _ingest(settings, cfg, other)
    with db.reader(settings) as con:
        before = table_checksum(con, "raw.order_lines")
    # the file comes again, renamed column and truncated: reading it fails before any write
    (landing / f"sales_{D.isoformat()}.csv").write_text(
        "Invoice,Sku,Name,Qty,Price,When,Customer,Country\n1,10001,A,2,1.50,2025-03-01T10:00:00Z,7.0,D")
    with pytest.raises(DayFailed, match="ordered_at <- 'At'"):
        _ingest(settings, cfg, D)
    with db.reader(settings) as con:
        assert table_checksum(con, "raw.order_lines") == before
