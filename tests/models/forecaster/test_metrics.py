from datetime import date

import numpy as np
import pandas as pd
import pytest

from models.forecaster import baselines
from models.forecaster.metrics import Forecast, rmsse_scale, score, segments
from models.panel import panel_from_frames


def _panel(series: dict[str, list[float]], start=date(2024, 1, 1)):
    rows = [(item, start + pd.Timedelta(days=d), u, u) for item, values in series.items()
            for d, u in enumerate(values) if u]
    frame = pd.DataFrame(rows, columns=["item_id", "order_date", "units", "revenue"])
    days = max(len(v) for v in series.values())
    return panel_from_frames(frame, start=start, end=start + pd.Timedelta(days=days - 1))


def test_rmsse_scale_counts_from_the_first_sale():
    history = np.array([[0, 0, 2, 0, 2], [0, 0, 0, 0, 3], [1, 1, 1, 1, 1]], dtype=float)
    scale = rmsse_scale(history, np.array([2, 4, 0]))
    assert scale[0] == pytest.approx(4.0)  # (0-2)^2 and (2-0)^2 after the first sale
    assert np.isnan(scale[1])              # one day of history: undefined
    assert np.isnan(scale[2])              # constant series: zero scale, left out


def test_perfect_forecast_scores_zero_and_full_coverage():
    rng = np.random.default_rng(1)
    series = {f"{10000 + i}": list(rng.poisson(3, 100).astype(float)) for i in range(5)}
    full = _panel(series)
    history = full.until(date(2024, 1, 1) + pd.Timedelta(days=71))
    actual = full.units[:, 72:100].astype(float)
    perfect = Forecast(history.item_ids, actual, np.repeat(actual[..., None], 3, axis=2))
    s = score(history, actual, perfect)
    assert s["all"]["wrmsse"] == 0 and s["all"]["weekly_wape"] == 0
    assert s["all"]["coverage_80"] == 1 and s["all"]["pinball"] == 0
    worse = Forecast(history.item_ids, actual + 1, perfect.quantiles)
    assert score(history, actual, worse)["all"]["wrmsse"] > 0


def test_segments_follow_first_sale():
    history = _panel({"10000": [1.0] * 60, "10001": [0.0] * 50 + [1.0] * 10})
    assert list(segments(history)) == ["warm", "cold"]


def test_simple_baselines_on_a_known_series():
    values = [0.0] * 10 + [2.0, 0.0, 4.0, 0.0, 0.0, 1.0, 0.0] * 8
    history = _panel({"10000": values})
    assert baselines.mean_28(history).mean[0, 0] == pytest.approx(sum(values[-28:]) / 28)
    naive = baselines.seasonal_naive(history).mean[0]
    assert list(naive[:7]) == values[-7:] and list(naive[7:14]) == values[-7:]
    level = 0.0
    for v in values:
        level = 0.1 * v + 0.9 * level
    assert baselines.ses(history).mean[0, 5] == pytest.approx(level)
    q = baselines.mean_28(history).quantiles
    assert (np.diff(q, axis=-1) >= 0).all() and (q >= 0).all()
    assert (baselines.zero(history).mean == 0).all()
