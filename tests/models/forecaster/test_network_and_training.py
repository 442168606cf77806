"""Model-behaviour tests of the forecaster on a tiny panel: contract, no leakage, adaptation,
determinism, batching, direction and a minimum quality."""
from dataclasses import replace
from datetime import date, timedelta
from functools import partial

import numpy as np
import torch

from models.forecaster import baselines
from models.forecaster.evaluate import actuals
from models.forecaster.features import FeatureBuilder, training_tasks
from models.forecaster.metrics import HORIZON, score
from models.forecaster.network import Targets, loss
from models.forecaster.predict import forecast
from models.forecaster.train import batch_losses, meta_train
from models.meta import adapt


def test_forecast_contract(panel, trained):
    history = panel.until(panel.end - timedelta(days=28))
    f = forecast(trained, history)
    sellable = history.item_ids[history.sellable(history.days - 1)]
    assert list(f.item_ids) == list(sellable)
    assert f.mean.shape == (len(sellable), HORIZON) and f.quantiles.shape == (len(sellable), HORIZON, 3)
    assert np.isfinite(f.mean).all() and np.isfinite(f.quantiles).all()
    assert (f.mean >= 0).all() and (f.quantiles >= 0).all()
    assert (np.diff(f.quantiles, axis=-1) >= 0).all()  # p10 <= p50 <= p90


def test_listed_item_without_sales_gets_a_forecast(panel, trained):
    f = forecast(trained, panel)  # the catalogue item 99999 is launched and never sold
    assert "99999" in list(f.item_ids)
    row = list(f.item_ids).index("99999")
    assert np.isfinite(f.mean[row]).all() and (f.mean[row] >= 0).all()


def test_no_leakage_and_determinism(panel, tiny_config, trained):
    """Changing demand after D changes neither the model trained for D nor D's forecast; the
    same seed gives the same weights; another seed does not (so the check can fail)."""
    d = panel.end - timedelta(days=28)
    changed = panel.units.copy()
    changed[:, panel.column(d) + 1:] *= 5
    later_differs = replace(panel, units=changed)
    again = meta_train(later_differs.until(d), tiny_config, log=None)
    for (name, a), (_, b) in zip(trained.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(a, b), name
    np.testing.assert_array_equal(forecast(trained, panel.until(d)).mean,
                                  forecast(again, later_differs.until(d)).mean)
    other = meta_train(panel.until(d), tiny_config.model_copy(update={"seed": 4}), log=None)
    assert not torch.equal(next(iter(other.model.state_dict().values())),
                           next(iter(trained.model.state_dict().values())))


def test_support_targets_never_pass_the_origin(panel, trained):
    fb = FeatureBuilder(panel, trained.categories)
    t = panel.days - 40
    query, support = fb.tasks(np.arange(10), np.full(10, t), query_limit=t)
    assert query.mask.sum() == 0  # the query's targets are after the origin: all masked
    # support origin t-7k covers t-7k+1 .. t-7k+28: only days up to t count
    for k in range(1, support.mask.shape[1] + 1):
        observed = support.mask[:, k - 1].sum(axis=1)
        assert (observed <= min(7 * k, HORIZON)).all()


def test_adaptation_reduces_support_loss(panel, trained):
    cfg, model = trained.config, trained.model
    history = panel.until(panel.end - timedelta(days=28))
    fb = FeatureBuilder(history, trained.categories)
    rows = np.flatnonzero(history.sellable(history.days - 1))
    query, support = fb.tasks(rows, np.full(len(rows), history.days - 1), history.days - 1)
    with torch.no_grad():
        h = model.embed(support)
        head, lrs = model.head_params(), model.inner_lrs()
        before, after = [], []
        for b in range(len(rows)):
            s = Targets(*(x[b] for x in Targets.of(support)))
            if s.mask.sum() == 0:
                continue
            loss_fn = partial(loss, huber_delta=cfg.huber_delta, quantile_weight=cfg.quantile_weight)
            adapted = adapt(head, lrs, (h[b], s), loss_fn, cfg.inner_steps)
            before.append(float(loss_fn(head, (h[b], s))))
            after.append(float(loss_fn(adapted, (h[b], s))))
    before, after = np.array(before), np.array(after)
    assert after.mean() < before.mean()
    assert (after < before).mean() > 0.8


def test_the_three_inner_loops_give_the_same_losses_and_gradients(panel, trained):
    """The closed form of the linear head's inner steps, torch.func's vmap over per-task heads
    and a Python loop over tasks: the same task losses and the same outer gradient, second-order
    and first-order."""
    history = panel.until(panel.end - timedelta(days=28))
    fb = FeatureBuilder(history, trained.categories)
    items, origins = training_tasks(history, 7)
    pick = np.random.default_rng(0).choice(len(items), 16, replace=False)
    model = trained.model
    for first_order in (False, True):
        cfg = trained.config.model_copy(update={"first_order": first_order})
        results = {}
        for inner in ("closed_form", "vmap", "loop"):
            model.zero_grad()
            losses = batch_losses(model, fb, items[pick], origins[pick], history.days - 1,
                                  cfg, cfg.inner_steps, inner=inner)
            losses.sum().backward()
            results[inner] = (losses.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                                                if p.grad is not None})
        model.zero_grad()
        for inner in ("vmap", "loop"):
            torch.testing.assert_close(results["closed_form"][0], results[inner][0], rtol=1e-4, atol=1e-5)
            assert results["closed_form"][1].keys() == results[inner][1].keys()
            for name, grad in results[inner][1].items():
                torch.testing.assert_close(results["closed_form"][1][name], grad, rtol=1e-3, atol=1e-5)
        # the inner learning rates get a gradient only through the inner steps
        assert results["closed_form"][1]["inner_log_lr.weight"].abs().sum() > 0


def test_direction_more_history_demand_means_more_forecast(panel, trained):
    history = panel.until(panel.end - timedelta(days=28))
    row = int(np.flatnonzero(history.first_sale() == 0)[0])
    doubled = history.units.copy()
    doubled[row] *= 2
    base = forecast(trained, history).mean
    more = forecast(trained, replace(history, units=doubled)).mean
    rows = list(forecast(trained, history).item_ids)
    at = rows.index(history.item_ids[row])
    assert more[at].sum() > 1.5 * base[at].sum()


def test_minimum_quality_against_the_best_simple_baseline(panel, trained):
    """On steady Poisson items the 28-day mean and SES are near the best possible, so the
    small model must come within 8% of the best of them overall, and beat every baseline on the
    young items it is there for."""
    history = panel.until(panel.end - timedelta(days=28))
    y = actuals(panel, history)
    model = score(history, y, forecast(trained, history))
    simple = {name: score(history, y, make(history)) for name, make in (
        ("zero", baselines.zero), ("mean_28", baselines.mean_28), ("ses", baselines.ses))}
    best_all = min(s["all"]["wrmsse"] for s in simple.values())
    best_cold = min(s["cold"]["wrmsse"] for s in simple.values())
    assert model["all"]["wrmsse"] < 1.08 * best_all, (model["all"]["wrmsse"], best_all)
    assert model["cold"]["wrmsse"] < 0.95 * best_cold, (model["cold"]["wrmsse"], best_cold)


def test_days_sharing_a_model_are_forecast_together_as_day_by_day(panel, trained):
    """One feature index over a panel that runs past every day gives each day the forecast of
    the panel cut at that day: items launched later are in the panel, not in earlier days."""
    from models.forecaster.predict import forecast_days

    end = date.fromisoformat(trained.train_end)
    days = [end, end + timedelta(days=3), end + timedelta(days=27)]
    assert panel.until(days[0]).item_ids.size < panel.item_ids.size  # the cut drops items
    for d, batched in zip(days, forecast_days(trained, panel, days)):
        alone = forecast(trained, panel.until(d))
        assert list(batched.item_ids) == list(alone.item_ids)
        np.testing.assert_allclose(batched.mean, alone.mean, rtol=1e-6, atol=1e-9)
        np.testing.assert_array_equal(batched.quantiles, alone.quantiles)


def test_samples_at_an_origin_are_the_same_in_a_panel_that_runs_past_it(panel, trained):
    """Every input of a task at origin t (query and support, prices of items without recent
    sales included) comes from columns up to t: what lets one feature index serve several days."""
    rising = np.linspace(1.0, 3.0, panel.days, dtype=np.float32)  # prices rise over the panel
    panel = replace(panel, revenue=panel.revenue * rising[None, :])
    d = panel.end - timedelta(days=20)
    cut, t = panel.until(d), panel.column(d)
    rows = np.flatnonzero(np.isin(panel.item_ids, cut.item_ids))
    assert len(rows) < len(panel.item_ids)
    for a, b in zip(FeatureBuilder(panel, trained.categories).tasks(rows, np.full(len(rows), t), t),
                    FeatureBuilder(cut, trained.categories).tasks(np.arange(len(rows)),
                                                                  np.full(len(rows), t), t)):
        for name in ("x", "category", "words", "scale", "norm", "y", "mask"):
            torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=0, atol=0)


def test_adapted_outputs_without_per_item_heads_equal_the_generic_inner_loop(panel, trained):
    """The forecast's closed form of the linear head's inner steps gives what torch.func's
    vmapped ``adapt_each`` followed by ``decode`` gives, and differs from not adapting."""
    from torch.func import vmap

    from models.forecaster.network import adapted_outputs, decode, decode_outputs, output_loss
    from models.meta import adapt_each

    cfg, model = trained.config, trained.model
    fb = FeatureBuilder(panel, trained.categories)
    t = panel.days - 1
    rows = np.flatnonzero(panel.sellable(t))
    query, support = fb.tasks(rows, np.full(len(rows), t), t, cfg.support_origins,
                              cfg.support_every_days)
    with torch.no_grad():
        head, lrs = model.head_params(), model.inner_lrs()
        h_query, h_support = model.embed(query), model.embed(support)
        generic_loss = partial(loss, huber_delta=cfg.huber_delta, quantile_weight=cfg.quantile_weight)
        adapted = adapt_each(head, lrs, (h_support, Targets.of(support)), generic_loss, cfg.inner_steps)
        expected = vmap(decode)(adapted, h_query, query.scale)
        out = adapted_outputs(head, lrs, h_support, Targets.of(support), h_query, cfg.inner_steps,
                              partial(output_loss, huber_delta=cfg.huber_delta,
                                      quantile_weight=cfg.quantile_weight, per_task=True))
        got = decode_outputs(out, query.scale)
        unadapted = decode(head, h_query, query.scale)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert (unadapted[0] - expected[0]).abs().max() > 1e-3  # the inner steps do move the head
