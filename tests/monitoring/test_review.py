"""The review page's rows, without a browser (tests/monitoring/test_review_page.py opens the
page itself)."""
from __future__ import annotations

from datetime import date

from models.gate import BASELINE, BOOSTED, NETWORK, Backtest, decide
from monitoring.review import serving


def test_serving_shows_each_models_decision_and_the_backtest_behind_it():
    backtest = Backtest(date(2025, 5, 4), "wrmsse all", True,
                        {NETWORK: 0.91, BASELINE: 0.95, BOOSTED: 0.88},
                        {NETWORK: "forecaster-maml-2025-05-04-ab", BOOSTED: "forecaster-maml-2025-05-04-ab+boosted"})
    made = decide("forecaster", date(2025, 6, 1), BASELINE, backtest, 0.02, {})
    held = decide("recommender", date(2025, 5, 20), BASELINE, None, 0.02, {})
    rows = serving({"forecaster": made.as_dict(), "recommender": held.as_dict()})

    forecaster, recommender = rows
    assert (forecaster["model"], forecaster["serves"], forecaster["since"]) == (
        "forecaster", BOOSTED, "2025-06-01")
    assert forecaster["why"] == made.reason and "0.88" in forecaster["why"]
    assert forecaster["backtest"] == ("backtest of what was known on 2025-05-04, scored on the "
                                      "days after it up to 2025-06-01 (wrmsse all, lower is better)")
    assert forecaster["candidates"] == [
        {"name": NETWORK, "score": 0.91, "version": "forecaster-maml-2025-05-04-ab", "serves": False},
        {"name": BASELINE, "score": 0.95, "version": "-", "serves": False},
        {"name": BOOSTED, "score": 0.88, "version": "forecaster-maml-2025-05-04-ab+boosted",
         "serves": True}]
    # a decision without a backtest (the first model, or an operator's promote) says so
    assert recommender["serves"] == held.winner and recommender["backtest"] is None
    assert recommender["candidates"] == []
    assert serving({}) == []
