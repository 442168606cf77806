"""Quarantined lines come back in when the mapping is fixed and their day is reprocessed."""
from datetime import date

from pipeline.stages import days_with_quarantine
from tests.conftest import run_stages, write_day
from warehouse import db

D = date(2025, 3, 1)
GOOD = [f"{i},10001,A,1,1.50,2025-03-01T10:{i:02d}:00Z,7.0,DE" for i in range(40)]
SPACED = "99,10002,B,2,3.00,2025-03-01 11:00:00,8.0,DE"  # another exporter's timestamp style

FIX = """
  ordered_at:
    sql: "regexp_replace(\\"At\\", '^(\\\\d{4}-\\\\d{2}-\\\\d{2}) (\\\\d{2}:\\\\d{2}:\\\\d{2})$', '\\\\1T\\\\2Z')"
"""


def _run(settings, day):
    outcome = run_stages(settings, [day], until="promote")
    assert outcome.stop is None, outcome.stop


def test_reprocessing_after_a_mapping_fix_brings_quarantined_lines_in(tiny_source, settings):
    cfg, landing = tiny_source
    write_day(landing, D, GOOD + [SPACED])
    _run(settings, D)
    assert days_with_quarantine(settings, D, D) == [D]

    text = cfg.config_path.read_text().replace("  ordered_at: At\n", FIX.lstrip("\n"))
    cfg.config_path.write_text(text)  # the next run reads the fixed mapping
    _run(settings, D)
    assert days_with_quarantine(settings, D, D) == []
    with db.reader(settings) as con:
        assert con.execute("SELECT count(*) FROM raw.order_lines").fetchone()[0] == 41
