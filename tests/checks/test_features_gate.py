"""The features gate passes consistent marts and stops a window whose marts disagree with raw."""
from datetime import date

from flows import stages
from tests.conftest import write_day
from warehouse import db

D1, D2 = date(2025, 3, 1), date(2025, 3, 2)
ROWS = {
    D1: ["1,10001,A,2,1.50,2025-03-01T09:00:00Z,7.0,DE", "2,10002,B,1,3.00,2025-03-01T10:00:00Z,,DE"],
    D2: ["3,10001,A,1,1.50,2025-03-02T09:00:00Z,8.0,DE"],
}


def test_features_gate(settings, tiny_source):
    cfg, landing = tiny_source
    for d, rows in ROWS.items():
        write_day(landing, d, rows)
    staged = [stages.stage_day(settings, cfg, d) for d in ROWS]
    assert all(v.passed for _, v in stages.gate_days(settings, cfg, staged))
    stages.promote_days(settings, cfg, staged)
    stages.transform_window(settings, cfg, D1, D2)
    verdicts = stages.check_features(settings, cfg, D1, D2)
    assert [v.passed for v in verdicts] == [True, True], [v.failures for v in verdicts]
    assert any("item_features" in str(p) for p in verdicts[-1].docs_pages)

    with db.writer(settings) as con:  # the marts now disagree with what raw says D2 delivered
        con.execute("UPDATE ops.day_volumes SET delivered = delivered + 5 WHERE run_date = ?", [D2])
    verdicts = stages.check_features(settings, cfg, D1, D2)
    assert [v.passed for v in verdicts] == [True, False]
    error = stages.failed_features(verdicts[-1])
    assert "lines_minus_raw" in str(error) and error.run_date == D2
