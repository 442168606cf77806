"""Model-behaviour tests of the boosted-trees forecaster on the tiny panel: contract, no leakage,
days predicted together as one by one, the weekday profile's direction, a minimum quality, and
its place in the registry and the gate."""
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from models.forecaster import baselines, boosted
from models.forecaster.evaluate import actuals
from models.forecaster.metrics import HORIZON, score


@pytest.fixture(scope="module")
def origin(panel):
    return panel.end - timedelta(days=28)


@pytest.fixture(scope="module")
def model(panel, origin):
    return boosted.train(panel.until(origin))


def test_forecast_contract(panel, origin, model):
    history = panel.until(origin)
    f = boosted.forecast(model, history)
    sellable = history.item_ids[history.sellable(history.days - 1)]
    assert list(f.item_ids) == list(sellable)
    assert f.mean.shape == (len(sellable), HORIZON) and f.quantiles.shape == (len(sellable), HORIZON, 3)
    assert np.isfinite(f.mean).all() and (f.mean >= 0).all()
    assert (np.diff(f.quantiles, axis=-1) >= 0).all()


def test_no_leakage(panel, origin, model):
    """Demand after D changes neither the trees trained for D nor D's forecast; demand before
    D does (so the check can fail)."""
    cut = panel.column(origin) + 1
    later = panel.units.copy()
    later[:, cut:] *= 5
    assert boosted.train(replace(panel, units=later).until(origin)) == model
    np.testing.assert_array_equal(boosted.forecast(model, panel.until(origin)).mean,
                                  boosted.forecast(model, replace(panel, units=later).until(origin)).mean)
    earlier = panel.units.copy()
    earlier[:, cut - 40:cut] *= 5
    assert boosted.train(replace(panel, units=earlier).until(origin)) != model


def test_trains_from_the_networks_minimum_history_and_on_a_shop_that_stopped_selling(panel):
    """56 days (``min_history_days``' floor: 28 days before an origin, 28 after) train, 55 say
    why not; a shop whose items sold nothing after any training origin forecasts zero."""
    boosted.train(panel.until(panel.start + timedelta(days=55)))
    with pytest.raises(ValueError, match="55 days: too few .* at least 56"):
        boosted.train(panel.until(panel.start + timedelta(days=54)))
    units = panel.units.copy()
    units[:, 20:] = 0
    stopped = replace(panel, units=units).until(panel.start + timedelta(days=100))
    f = boosted.forecast(boosted.train(stopped), stopped)
    assert len(f.item_ids) and (f.mean == 0).all()


def test_days_predicted_together_as_one_by_one(panel, origin, model):
    days = [origin + timedelta(days=k) for k in (0, 3, 9)]
    together = boosted.forecast_days(model, panel, days)
    for d, f in zip(days, together):
        alone = boosted.forecast(model, panel.until(d))
        assert list(f.item_ids) == list(alone.item_ids)
        np.testing.assert_allclose(f.mean, alone.mean, rtol=1e-12)
        np.testing.assert_array_equal(f.quantiles, alone.quantiles)


def test_weekday_profile_follows_the_shop(panel):
    """The tiny shop sells 1.2x on Mondays and 0.2x on Saturdays: the profile of the days after
    D says so, in the right places, and averages 1 over whole weeks."""
    profile = boosted.weekday_profile(panel.units.sum(axis=0), panel.start)
    weekdays = [(panel.end + timedelta(days=h + 1)).weekday() for h in range(HORIZON)]
    monday, saturday = profile[weekdays.index(0)], profile[weekdays.index(5)]
    assert monday > 1.2 and saturday < 0.4  # 1.2 / (6 / 7) = 1.4, 0.2 / (6 / 7) = 0.23
    assert profile.mean() == pytest.approx(1.0)
    flat = boosted.weekday_profile(np.zeros(30), panel.start)
    assert (flat == 1).all()


def test_beats_the_mean_of_the_last_28_days(panel, origin, model):
    """Minimum quality: on the tiny shop (steady items with a weekly pattern, new items) the
    trees forecast better than the flat mean of the last 28 days, and their total is within 15%
    of what sold."""
    history = panel.until(origin)
    y = actuals(panel, history)
    trees = score(history, y, boosted.forecast(model, history))["all"]
    flat = score(history, y, baselines.mean_28(history))["all"]
    assert trees["wrmsse"] < flat["wrmsse"]
    assert abs(trees["total_bias"]) < 0.15


def test_saved_with_the_network_and_served_under_its_version(tmp_path, panel, origin, model, trained):
    """A forecaster registered with boosted trees loads them; the pipeline serves them under
    ``<version>+boosted`` with the same forecasts; a version without them cannot be promoted to
    them."""
    from models import registry
    from pipeline.gate import published_version, split_version
    from pipeline.predict import FORECASTER, load_served

    version = registry.save(replace(trained, boosted=model), tmp_path / "models").name
    served = load_served(tmp_path / "models", FORECASTER, f"{version}+boosted")
    assert isinstance(served, boosted.Boosted) and served.version == f"{version}+boosted"
    history = panel.until(origin)
    (published,) = FORECASTER.predict(served, panel, [origin])
    np.testing.assert_array_equal(published.mean, boosted.forecast(model, history).mean)
    assert split_version(f"{version}+boosted") == (version, "boosted", "boosted.txt")
    assert published_version(version, "boosted") == f"{version}+boosted"
    assert published_version(version, "network") == version
    assert registry.load(registry.save(trained, tmp_path / "plain")).boosted is None


def test_momentum_inputs_read_the_shop_and_the_category_up_to_the_origin(panel, origin):
    """The shop's and the item's category's momentum (decision 0035) are the log ratios of their
    units in the 28 days up to the origin to the 28 before, and of the last 7 days' rate to the
    last 28 days'; an origin with fewer than 56 days before it counts the missing days as zero."""
    from models.forecaster.features import FeatureBuilder

    fb = FeatureBuilder(panel, [])
    t = panel.column(origin)
    items = np.flatnonzero(panel.sellable(t))[:5]
    for at in (t, 30):
        x, _ = boosted._inputs(fb, items, np.full(len(items), at))
        momentum = x[:, [boosted.INPUTS.index(n) for n in ("shop_momentum_28", "shop_momentum_7",
                                                            "category_momentum_28",
                                                            "category_momentum_7")]]
        for row, item in zip(momentum, items):
            mine = panel.category.astype(str) == str(panel.category[item])
            for k, series in enumerate((panel.units.sum(axis=0, dtype=np.float64),
                                        panel.units[mine].sum(axis=0, dtype=np.float64))):
                last28, last7 = series[at - 27:at + 1].sum(), series[at - 6:at + 1].sum()
                before28 = series[max(at - 55, 0):at - 27].sum()
                assert row[2 * k] == pytest.approx(np.log((last28 + 1) / (before28 + 1)))
                assert row[2 * k + 1] == pytest.approx(np.log((4 * last7 + 1) / (last28 + 1)))


def test_trees_trained_on_other_inputs_are_refused_by_name_and_left_out_when_loaded(
        tmp_path, panel, origin, model, trained, caplog, monkeypatch):
    """Trees registered by code that computed fewer inputs (before decision 0035): forecasting
    with them names the inputs they lack, and a registered model that carries them loads
    without them (the gate's boosted candidate sits out) with a warning naming the version."""
    from models import registry, trees

    momentum = " shop_momentum_28 shop_momentum_7 category_momentum_28 category_momentum_7"
    older = model.replace(momentum, "", 1)
    assert trees.inputs_of(older) == boosted.INPUTS[:-4]
    n = len(boosted.INPUTS)
    with pytest.raises(ValueError, match=f"boosted trees: trained on other inputs .*{n - 4} "
                                         f"inputs against {n}, missing shop_momentum_28"):
        boosted.forecast(older, panel.until(origin))
    assert replace(trained, boosted=model).boosted == model
    with monkeypatch.context() as older_code:  # saved by code whose trees read 4 inputs fewer
        older_code.setattr(boosted, "INPUTS", boosted.INPUTS[:-4])
        saved = registry.save(replace(trained, boosted=older, version="forecaster-older"),
                              tmp_path / "models")
    with caplog.at_level("WARNING"):
        loaded = registry.load(saved)
    assert (saved / "boosted.txt").exists() and loaded.boosted is None
    assert "forecaster-older" in caplog.text and "boosted trees" in caplog.text


def test_quiet_rows_thinned_and_weighted_up(panel, origin):
    """Training keeps every row of an item that sold in the 56 days up to its origin and a
    quarter of the others, each of those standing for four (decision 0037): on a shop where half
    the items sell once in 100 days, the kept rows stand for all of them."""
    from models.forecaster.features import FeatureBuilder, training_tasks

    history = panel.until(origin)
    units = history.units.copy()
    slow = np.arange(0, len(units), 2)
    units[slow] = 0
    units[slow, 1::100] = 1
    shop = replace(history, units=units)
    items, origins = training_tasks(shop, boosted.EVERY_DAYS)
    quiet = np.array([not shop.units[i, max(t - 55, 0):t + 1].any() for i, t in zip(items, origins)])
    assert quiet.sum() > 50 and (~quiet).sum() > 50

    kept_items, kept_origins, stands_for = boosted.thinned(FeatureBuilder(shop, []), items, origins)
    rows = set(zip(items.tolist(), origins.tolist()))
    kept = list(zip(kept_items.tolist(), kept_origins.tolist()))
    assert set(kept) <= rows and len(set(kept)) == len(kept)
    kept_quiet = np.array([not shop.units[i, max(t - 55, 0):t + 1].any() for i, t in kept])
    assert (~kept_quiet).sum() == (~quiet).sum()  # every row with a recent sale
    assert kept_quiet.sum() / quiet.sum() == pytest.approx(boosted.QUIET_KEPT, abs=0.1)
    np.testing.assert_array_equal(stands_for, np.where(kept_quiet, 1 / boosted.QUIET_KEPT, 1.0))
    assert stands_for.sum() == pytest.approx(len(items), rel=0.2)
