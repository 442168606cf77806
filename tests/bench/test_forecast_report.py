"""The forecast benchmark's calibration lines: every servable model judged, the oracle's worst
origin said beside them where a synthetic shop has one."""
import pandas as pd

from bench.forecast import BOOSTED, calibration


def _rows(model, biases):
    return [{"model": model, "origin": origin, "segment": segment, "total_bias": bias}
            for (origin, segment), bias in biases.items()]


def test_calibration_judges_each_model_and_shows_the_oracle_floor():
    results = pd.DataFrame(
        _rows(BOOSTED, {("2025-10-08", "all"): 0.02, ("2025-10-08", "cold"): -0.28,
                        ("2025-10-08", "warm"): 0.5})  # warm rows are not judged
        + _rows("oracle (true expected demand)", {("2025-10-08", "all"): 0.01,
                                                  ("2025-10-08", "cold"): 0.126}))
    lines = calibration(results)
    assert lines[0].startswith(f"- {BOOSTED}: total within 10%")
    assert "worst -28.0%, cold on 2025-10-08" in lines[0] and lines[0].endswith("**NOT met**")
    assert "for reference, the oracle (true expected demand): worst +12.6%, cold on 2025-10-08 (outside 10%" in lines[1]


def test_calibration_without_an_oracle_says_nothing_of_it():
    results = pd.DataFrame(_rows(BOOSTED, {("2011-09-30", "all"): 0.05,
                                           ("2011-09-30", "cold"): -0.09}))
    lines = calibration(results)
    assert len(lines) == 1 and lines[0].endswith(": met")
