"""The gate's rule: a champion is replaced only by a challenger that beats it by the margin on
the same backtest, in the metric's own direction."""
import math
from datetime import date

from models.gate import BASELINE, NETWORK, Backtest, Decision, decide

D = date(2025, 6, 1)


def backtest(network: float, baseline: float, lower_is_better: bool = True) -> Backtest:
    return Backtest(date(2025, 5, 4), "wrmsse all" if lower_is_better else "recall_at_20 all",
                    lower_is_better, {NETWORK: network, BASELINE: baseline},
                    {NETWORK: "forecaster-maml-2025-05-04-abc", BASELINE: "baseline-ses"})


def test_a_challenger_must_beat_the_champion_by_the_margin():
    assert decide("forecaster", D, BASELINE, backtest(0.80, 1.00), 0.02).winner == NETWORK
    held = decide("forecaster", D, BASELINE, backtest(0.99, 1.00), 0.02)
    assert held.winner == BASELINE and "holds" in held.reason
    worse = decide("forecaster", D, NETWORK, backtest(1.20, 1.00), 0.02)
    assert worse.winner == BASELINE and worse.champion == NETWORK


def test_higher_is_better_metrics_turn_the_rule_around():
    assert decide("recommender", D, BASELINE, backtest(0.30, 0.25, False), 0.02).winner == NETWORK
    assert decide("recommender", D, BASELINE, backtest(0.20, 0.25, False), 0.02).winner == BASELINE
    assert decide("recommender", D, NETWORK, backtest(0.253, 0.25, False), 0.02).winner == NETWORK


def test_without_a_backtest_or_a_score_the_champion_stays():
    assert decide("forecaster", D, BASELINE, None, 0.02).winner == BASELINE
    assert decide("forecaster", D, NETWORK, backtest(math.nan, math.nan), 0.02).winner == NETWORK
    assert decide("forecaster", D, BASELINE, backtest(0.9, math.nan), 0.02).winner == NETWORK


def test_a_decision_reads_back_from_its_json():
    d = decide("forecaster", D, BASELINE, backtest(0.8, 1.0), 0.02)
    assert Decision.from_dict(d.as_dict()) == d
    assert Decision.from_dict(decide("forecaster", D, BASELINE, None, 0.02).as_dict()).backtest is None


def test_a_candidate_left_out_cannot_win_whatever_its_score_and_the_reason_says_why():
    left = decide("forecaster", D, BASELINE, backtest(0.50, 1.00), 0.02,
                  {NETWORK: "its total is -98% off the units sold (more than 25%)"})
    assert left.winner == BASELINE and "network left out: its total is -98%" in left.reason
    assert left.backtest.scores[NETWORK] == 0.50  # the backtest is kept as it was
    # a champion left out gives way to a challenger that may win
    gives_way = decide("forecaster", D, BASELINE, backtest(1.20, 1.00), 0.02, {BASELINE: "off"})
    assert gives_way.winner == NETWORK
