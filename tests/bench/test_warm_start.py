"""The retraining benchmark's verdicts: a candidate is a loss only when it is worse than the
scratch seeds' mean by more than the seeds' spread explains."""
import math
from datetime import date

import pytest

from bench.warm_start import WARM, candidates, seed_name, served_name, verdicts

ORIGINS = [date(2025, 11, 5), date(2025, 11, 19)]


def result(per_origin: dict[str, list[float]]) -> dict:
    """Recall@20 for the warm segment only matters here; other metrics copy it."""
    rows = []
    for name, values in per_origin.items():
        for origin, value in zip(ORIGINS, values):
            if value is None:
                continue
            for segment in ("cold", "warm"):
                rows.append({"model": name, "origin": origin, "segment": segment,
                             "recall_at_20": value, "ndcg_at_20": value})
    return {"results": rows, "seeds": 3, "ages": {served_name(1): [14], served_name(2): [28]}}


def test_a_candidate_worse_than_the_seeds_spread_is_a_loss_and_one_within_it_holds():
    seeds = {seed_name(0): [0.30, 0.20], seed_name(1): [0.31, 0.21], seed_name(2): [0.29, 0.19]}
    res = result({**seeds, WARM: [0.295, 0.195], served_name(1): [0.25, 0.15],
                  served_name(2): [None, 0.21]})
    assert candidates(res) == [WARM, served_name(1), served_name(2)]
    recall_warm = next(v for v in verdicts("recommend", res) if v["metric"] == "Recall@20 warm")
    assert recall_warm["sd"] == pytest.approx(0.01)
    warm, stale, older = (recall_warm["candidates"][n] for n in candidates(res))
    assert warm["worse_by"] == pytest.approx(0.005) and warm["holds"]
    assert warm["bound"] == pytest.approx(2 * 0.01 * math.sqrt((1 + 1 / 3) / 2))
    assert stale["worse_by"] == pytest.approx(0.05) and not stale["holds"]
    # scored at one origin only: a wider bound, and better than the seeds is never a loss
    assert older["origins"] == 1 and older["bound"] > warm["bound"]
    assert older["worse_by"] == pytest.approx(-0.01) and older["holds"]
