"""Quarantined lines come back in when the mapping is fixed and their day is reprocessed."""
from datetime import date

from flows import stages
from sources.config import load_source_config
from tests.conftest import write_day
from warehouse import db

D = date(2025, 3, 1)
GOOD = [f"{i},10001,A,1,1.50,2025-03-01T10:{i:02d}:00Z,7.0,DE" for i in range(40)]
SPACED = "99,10002,B,2,3.00,2025-03-01 11:00:00,8.0,DE"  # another exporter's timestamp style

FIX = """
  ordered_at:
    sql: "regexp_replace(\\"At\\", '^(\\\\d{4}-\\\\d{2}-\\\\d{2}) (\\\\d{2}:\\\\d{2}:\\\\d{2})$', '\\\\1T\\\\2Z')"
"""


def _run(settings, cfg, day):
    incoming = stages.stage_day(settings, cfg, day)
    (_, verdict), = stages.gate_days(settings, cfg, [incoming])
    assert verdict.passed, verdict.failures
    stages.promote_days(settings, cfg, [incoming])


def test_reprocessing_after_a_mapping_fix_brings_quarantined_lines_in(settings, tiny_source):
    cfg, landing = tiny_source
    write_day(landing, D, GOOD + [SPACED])
    _run(settings, cfg, D)
    assert stages.days_with_quarantine(settings, D, D) == [D]

    text = cfg.config_path.read_text().replace("  ordered_at: At\n", FIX.lstrip("\n"))
    cfg.config_path.write_text(text)
    fixed = load_source_config(cfg.config_path)
    _run(settings, fixed, D)
    assert stages.days_with_quarantine(settings, D, D) == []
    with db.reader(settings) as con:
        assert con.execute("SELECT count(*) FROM raw.order_lines").fetchone()[0] == 41
