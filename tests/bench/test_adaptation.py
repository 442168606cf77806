"""bench/adaptation.py's verdict: the target needs 10% on the affected items and no loss on the
rest; the groups split the items by the regime's categories and launch day."""
from datetime import date, timedelta

import pandas as pd

from bench.adaptation import summary

S = date(2025, 5, 31)


def results(meta_affected: float, meta_rest: float) -> pd.DataFrame:
    rows = []
    for k in range(15):
        for model, affected, rest in (("meta-learned, adapted on the latest windows", meta_affected, meta_rest),
                                      ("pooled network", 1.0, 0.7),
                                      ("reference: exponential smoothing (alpha 0.1)", 0.9, 0.75)):
            for group, value in (("affected", affected), ("rest", rest), ("new after S", 3.0)):
                rows.append({"model": model, "day": S + timedelta(days=k), "group": group,
                             "wrmsse": value, "items": 10})
    return pd.DataFrame(rows)


def test_the_verdict_needs_ten_percent_on_the_affected_items_and_no_loss_elsewhere():
    table, (line,) = summary(results(0.89, 0.70))
    assert "+11.0% better" in line and line.endswith(": met")
    assert list(table.index)[-1].startswith("reference")  # the references last
    assert table.loc["pooled network", "WRMSSE affected S..S+6"] == 1.0
    for meta_affected, meta_rest in ((0.95, 0.70), (0.85, 0.71)):
        _, (line,) = summary(results(meta_affected, meta_rest))
        assert line.endswith("**NOT met**"), line
