"""The features gate passes consistent marts and stops a window whose marts disagree with raw."""
from datetime import date

import pytest

from pipeline.context import Window
from pipeline.stages import check_features
from tests.conftest import run_stages, write_day
from warehouse import db

pytestmark = pytest.mark.dbt  # runs dbt: not in the fast tier

D1, D2 = date(2025, 3, 1), date(2025, 3, 2)
ROWS = {
    D1: ["1,10001,A,2,1.50,2025-03-01T09:00:00Z,7.0,DE", "2,10002,B,1,3.00,2025-03-01T10:00:00Z,,DE"],
    D2: ["3,10001,A,1,1.50,2025-03-02T09:00:00Z,8.0,DE"],
}


def test_features_gate(tiny_source, settings, ctx, capfd):
    cfg, landing = tiny_source
    for d, rows in ROWS.items():
        write_day(landing, d, rows)
    assert run_stages(settings, list(ROWS), until="transform").stop is None
    window = Window((D1, D2))
    capfd.readouterr()
    assert check_features(ctx, window) == window
    assert "Calculating Metrics" not in capfd.readouterr().err  # no progress bars in the log
    pages = settings.root / "quality" / "data_docs" / "validations"
    assert list((pages / "item_features").rglob("*.html")), "no Data Docs page of item_features"

    with db.writer(settings) as con:  # the marts now disagree with what raw says D2 delivered
        con.execute("UPDATE ops.day_volumes SET delivered = delivered + 5 WHERE run_date = ?", [D2])
    stopped = check_features(ctx, window)
    assert stopped.days == (D1,) and stopped.stop.run_date == D2
    assert "lines_minus_raw" in str(stopped.stop.error) and "Data Docs" in str(stopped.stop.error)
    assert stopped.stop.error.run_date == D2
