"""The forecast and recommend stages: one loop serves both models.

For each run date D of the window, in order: the point-in-time model (trained on the
warehouse's data up to D at the latest, its data checksum compared; trained again on the
history known at D, ``until(D)``, when its window ends more than ``retrain_every_days`` before
D), and its predictions from the history known at D, stored in the warehouse a month of days
per transaction. The days one model serves are predicted together, from one feature index over
the history loaded once (each day at its own cutoff: the same rows as day by day, tested).
Before the warehouse holds ``min_history_days`` days the model's best simple baseline
(docs/evaluation.md) is published instead, named in ``model_version``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from domain.rules import HORIZON_DAYS, RECOMMENDATION_WINDOW_DAYS
from models import registry
from models.across import backend_for, train_across
from models.config import MetaLearnerConfig
from models.forecaster import boosted
from models.forecaster import baselines as forecast_baselines
from models.forecaster import evaluate as forecast_evaluate
from models.forecaster.metrics import Forecast
from models.forecaster.predict import forecast, forecast_days
from models.forecaster.train import TrainedForecaster
from models.forecaster.train import meta_train as train_forecaster
from models.gate import BASELINE, BOOSTED, POOLED, TWO_STAGE
from models.gate import NETWORK as GATE_NETWORK
from models.panel import DemandPanel, load_panel
from models.recommender import baselines as recommend_baselines
from models.recommender import evaluate as recommend_evaluate
from models.recommender import ranker
from models.recommender.data import ShopHistory, load_history
from models.recommender.metrics import Recommendations
from models.recommender.predict import recommend as recommend_with
from models.recommender.predict import recommend_days
from models.recommender.train import meta_train as train_recommender
from models.warm import warm_steps
from pipeline.context import RunContext, Window, log, on_cadence
from pipeline.gate import GateSpec, ModelGate, network_candidate, split_version
from pipeline.settings import Settings
from pipeline.tracking import Tracker
from warehouse import db
from warehouse.tables import FORECASTS, RECOMMENDATIONS


@dataclass
class DayPrediction:
    run_date: date
    model_version: str
    entities: int          # items forecast, or customers given a list
    trained: bool          # a model was meta-trained for this run date
    seconds: float


@dataclass(frozen=True)
class Predictor:
    """What differs between the two models; ``predict_days`` is the rest."""
    name: str                                            # "forecast", "recommend"
    model: str                                           # "forecaster", "recommender"
    table: str                                           # where its rows are stored
    config: Callable[[Settings], MetaLearnerConfig]
    load: Callable[[Any, date], Any]                     # (connection, last day) -> history
    history_days: Callable[[Any], int]
    baseline: Callable[[Any], Any]
    baseline_version: str
    train: Callable[[Any, MetaLearnerConfig, Callable, Any], Any]  # (..., start_from)
    predict: Callable[[Any, Any, list[date]], list]     # (model, history, days) -> per day
    rows: Callable[[Any, Any, str], pa.Table]            # (history, predictions, version)
    entities: Callable[[Any], int]
    gate: GateSpec                                       # how the gate backtests it
    # (registered model, the gate's winner) -> what serves (the two-stage recommender of a
    # recommender model)
    serving: Callable[[Any, str], Any] = lambda model, winner: model
    # (history, origins, the most customers scored) -> {origin: what monitoring's realised
    # quality scores there}, handed on by the stage (``Window.histories``); by default the
    # whole history for each
    scored_parts: Callable[[Any, list[date], int | None], dict[date, Any]] = (
        lambda full, origins, max_customers: dict.fromkeys(origins, full))


def predict_days(settings: Settings, predictor: Predictor, run_dates: list[date],
                 log_line: Callable[[str], None] = log.info,
                 per_transaction: int = 31, full: Any = None) -> list[DayPrediction]:
    """Predict each run date in order; its rows replace D's in ``predictor.table``. Consecutive
    days served by the same model are predicted in one call (``predictor.predict``). ``full``:
    the history up to the last run date, when the caller loaded it."""
    with db.reader(settings) as con:
        if full is None:
            full = predictor.load(con, max(run_dates))
        requests = sorted(r[0] for r in con.execute(
            "SELECT run_date FROM ops.retrain_decisions WHERE model = ? AND requested",
            [predictor.model]).fetchall())
        cfg = predictor.config(settings)
        gate = ModelGate.read(con, predictor.model, predictor.gate, cfg.gate_margin,
                              cfg.gate_first_champion, cfg.gate_max_total_bias)
    last = max(run_dates)
    models = registry.PointInTime(settings.models_dir, cfg)
    tracker = Tracker(settings.tracking)
    results = []

    def enough_history(run_date: date) -> bool:
        return predictor.history_days(full) - (last - run_date).days >= cfg.min_history_days

    def train_at(run_date: date, start_from, why: str, asked: date | None = None):
        how = (f"{why}, {warm_steps(cfg.outer_steps, cfg.warm_start_fraction)} steps"
               if start_from is not None else f"from scratch: {why}")
        if asked is not None:
            how += f"; monitoring asked for a retrain on {asked}"
        log_line(f"meta-training the {predictor.name} model on data up to {run_date} ({how})")
        trained = predictor.train(full.until(run_date), cfg, log_line, start_from)
        trained.version = registry.version_of(trained)
        tracker.training(predictor.model, trained)
        return trained

    network_at = network_candidate(settings.models_dir, cfg, full.checksum, train_at, enough_history)
    pinned: dict[str, Any] = {}  # versions the operator promoted (shopcast models promote)

    def model_of(run_date: date) -> tuple[Any, str, bool]:
        """(the point-in-time model, or None for the baseline; its version; trained now)"""
        if not enough_history(run_date):
            return None, predictor.baseline_version, False
        asked = max((d for d in requests if d < run_date), default=None)  # by monitoring
        # the checksum of the data up to a day is the same in the full load and in a cut of it
        model, trained = models.model_for(
            run_date, full.checksum, lambda start, why: train_at(run_date, start, why, asked),
            not_trained_by=asked)
        decision = gate.decision_for(run_date, model, trained, network_at, full, log_line)
        if decision.winner == BASELINE:  # the network is trained all the same: the next gate's candidate
            return None, predictor.baseline_version, trained
        if decision.version is not None and decision.version != model.version:  # the operator's
            if decision.version not in pinned:
                pinned[decision.version] = registry.load(
                    settings.models_dir / predictor.model / decision.version)
            model = pinned[decision.version]
        model = predictor.serving(model, decision.winner)
        return model, model.version, trained

    def batch(group: list[tuple[date, str, bool, Any, float]]):
        started = time.perf_counter()
        dates, model = [g[0] for g in group], group[0][3]
        # a baseline's group is one day: its cut history serves the baseline and the rows
        cut = full.until(dates[0]) if model is None else None
        predictions = ([predictor.baseline(cut)] if model is None
                       else predictor.predict(model, full, dates))
        share = (time.perf_counter() - started) / len(group)
        batched = f", predicted with {len(group) - 1} more days" if len(group) > 1 else ""
        for (run_date, version, trained, _, choosing), day in zip(group, predictions):
            results.append(DayPrediction(run_date, version, predictor.entities(day), trained,
                                         choosing + share))
            log_line(f"{run_date} {predictor.name}: {results[-1].entities:,} with {version}"
                     f"{', meta-trained now' if trained else ''}{batched} "
                     f"({results[-1].seconds:.1f}s)")
            history = cut if cut is not None else full.until(run_date)
            yield run_date, predictor.rows(history, day, version)

    def days():
        group: list[tuple[date, str, bool, Any, float]] = []
        for run_date in sorted(run_dates):
            started = time.perf_counter()
            model, version, trained = model_of(run_date)
            # a baseline gains nothing from a shared index: its days are not held together
            full_group = len(group) >= per_transaction
            if group and (version != group[0][1] or model is None or full_group):
                yield from batch(group)
                group = []
            group.append((run_date, version, trained, model, time.perf_counter() - started))
        if group:
            yield from batch(group)

    db.replace_days(settings, predictor.table, days(), per_transaction)
    gate.record(settings, tracker)
    return results


# -- the forecaster ---------------------------------------------------------------------------
def forecast_table(history: DemandPanel, f: Forecast, version: str) -> pa.Table:
    """Rows of the published contract: one per item and target day D+1..D+28."""
    n, h = len(f.item_ids), HORIZON_DAYS
    pos = {item: i for i, item in enumerate(history.item_ids)}
    first = history.first_sale()[[pos[i] for i in f.item_ids]] if n else np.zeros(0, np.int64)
    history_days = np.where(first >= 0, history.days - 1 - first, -1)
    targets = [history.end + timedelta(days=d) for d in range(1, h + 1)]
    return pa.table({
        "run_date": pa.array([history.end] * (n * h), pa.date32()),
        "item_id": pa.array(np.repeat(f.item_ids.astype(str), h), pa.string()),
        "target_date": pa.array(targets * n, pa.date32()),
        "mean": f.mean.reshape(-1), "p10": f.quantiles[..., 0].reshape(-1),
        "p50": f.quantiles[..., 1].reshape(-1), "p90": f.quantiles[..., 2].reshape(-1),
        "model_version": pa.array([version] * (n * h), pa.string()),
        # an item listed in the catalogue but never sold has no history: null
        "history_days": pa.array(np.repeat(history_days, h), pa.int32(),
                                 mask=np.repeat(history_days < 0, h)),
    }, schema=FORECASTS)


def read_forecast(con, run_date: date) -> Forecast | None:
    """The forecast published for ``run_date`` as the model made it (None when nothing was
    published): forecast_table read back."""
    rows = con.execute(
        "SELECT item_id, mean, p10, p50, p90 FROM predictions.forecasts "
        "WHERE run_date = ? ORDER BY item_id, target_date", [run_date]).fetchnumpy()
    return forecast_from_rows(rows) if len(rows["item_id"]) else None


def forecast_from_rows(rows) -> Forecast:
    """A Forecast from the contract's columns (item_id, mean, p10, p50, p90) of one run date,
    ordered by item and target date (from the warehouse or the published Parquet)."""
    n, h = len(rows["item_id"]) // HORIZON_DAYS, HORIZON_DAYS
    quantiles = np.stack([rows[q] for q in ("p10", "p50", "p90")], axis=-1).reshape(n, h, 3)
    return Forecast(np.asarray(rows["item_id"][::h], dtype=object),
                    np.asarray(rows["mean"]).reshape(n, h), quantiles)


def backtest_forecasts(network, panel: DemandPanel, origin: date) -> dict[str, dict]:
    """The network's forecast of ``origin``, the baseline's, and the pooled network's and the
    boosted trees' where they were trained with the network, on the units of the 28 days after
    it (``panel`` reaches them)."""
    others = {}
    if network.pooled is not None:
        others[POOLED] = lambda history: forecast(network.as_pooled(), history)
    if network.boosted is not None:
        others[BOOSTED] = lambda history: boosted.forecast(network.boosted, history)
    scored = forecast_evaluate.realised(panel, origin, forecast(network, panel.until(origin)),
                                        forecast_baselines.ses, others)
    return {GATE_NETWORK: scored.pop("model"), BASELINE: scored.pop("baseline"), **scored}


def meta_trained(meta_train: Callable, data, cfg, log_line: Callable, start_from):
    """``meta_train`` in this process, or across ``cfg.processes`` processes (torchrun)."""
    if cfg.processes > 1:
        log_line(f"  across {cfg.processes} processes (torchrun, "
                 f"{backend_for(cfg.device, cfg.processes)})")
        return train_across(meta_train, data, cfg, cfg.processes, start_from=start_from)
    return meta_train(data, cfg, log=log_line, start_from=start_from)


def train_forecaster_models(history: DemandPanel, cfg, log_line: Callable, start_from
                            ) -> TrainedForecaster:
    """The meta-learned network (from ``start_from``'s weights when given) and, with
    ``pooled_candidate``, the pooled network on the same data (from ``start_from``'s pooled
    network when it has one); with ``boosted_candidate``, the boosted trees (from scratch: they
    train in seconds)."""
    trained = meta_trained(train_forecaster, history, cfg, log_line, start_from)
    if cfg.pooled_candidate and cfg.mode == "maml":
        started = time.perf_counter()
        pooled_from = (start_from.as_pooled() if start_from is not None
                       and start_from.pooled is not None else None)
        trained.pooled = meta_trained(train_forecaster, history,
                                      cfg.model_copy(update={"mode": "pooled"}), log_line,
                                      pooled_from).model
        trained.metrics["pooled_seconds"] = time.perf_counter() - started
    if cfg.boosted_candidate:
        started = time.perf_counter()
        trained.boosted = boosted.train(history)
        trained.metrics["boosted_seconds"] = time.perf_counter() - started
    return trained


def serve_forecaster(model: TrainedForecaster, winner: str):
    """The pooled network or the boosted trees when they won the gate and were trained with
    this model."""
    if winner == BOOSTED and model.boosted is not None:
        return boosted.Boosted(model)
    return model.as_pooled() if winner == POOLED and model.pooled is not None else model


def forecast_served(model, panel: DemandPanel, days: list[date]) -> list[Forecast]:
    if isinstance(model, boosted.Boosted):
        return boosted.forecast_days(model.trained.boosted, panel, days)
    return forecast_days(model, panel, days)


FORECASTER = Predictor(
    name="forecast", model="forecaster", table="predictions.forecasts", config=lambda s: s.forecaster,
    load=load_panel, history_days=lambda h: h.days,
    baseline=forecast_baselines.ses, baseline_version=f"baseline-{forecast_baselines.FALLBACK}",
    train=train_forecaster_models, predict=forecast_served, rows=forecast_table,
    entities=lambda f: len(f.item_ids),
    gate=GateSpec(HORIZON_DAYS, "wrmsse all", lower_is_better=True, backtest=backtest_forecasts,
                  bias_metric="total_bias all"),
    serving=serve_forecaster)


# -- the recommender --------------------------------------------------------------------------
def recommendation_table(history: ShopHistory, recs: Recommendations, version: str) -> pa.Table:
    """Rows of the published contract: one per customer and rank 1..k (built in Arrow: a day
    of a large shop is millions of rows)."""
    m, k = recs.item_ids.shape if recs.item_ids.ndim == 2 else (0, 0)
    rows = pd.Index(history.purchases.customer_ids).get_indexer(recs.customer_ids)
    if (rows < 0).any():
        raise ValueError(f"{recs.customer_ids[rows < 0][:3].tolist()}: listed customers without a "
                         f"purchase up to {history.run_date}")
    per_row = pa.array(np.repeat(np.arange(m), k))
    return pa.table({
        "run_date": pa.repeat(pa.scalar(history.run_date, pa.date32()), m * k),
        "customer_id": pa.array(recs.customer_ids, pa.string()).take(per_row),
        "rank": pa.array(np.tile(np.arange(1, k + 1, dtype=np.int32), m), pa.int32()),
        "item_id": pa.array(recs.item_ids.reshape(-1), pa.string()),
        "score": pa.array(recs.scores.reshape(-1), pa.float64()),
        "model_version": pa.repeat(pa.scalar(version, pa.string()), m * k),
        "segment": pa.array(history.segments(rows), pa.string()).take(per_row),
    }, schema=RECOMMENDATIONS)


def read_recommendations(con, run_date: date, customer_ids: np.ndarray | None = None
                         ) -> Recommendations | None:
    """The lists published for ``run_date`` (of ``customer_ids`` only, when given; None when
    none was published): recommendation_table read back (every list of a day has the same
    length)."""
    only = "AND customer_id IN (SELECT unnest(?::VARCHAR[]))" if customer_ids is not None else ""
    rows = con.execute(
        f"SELECT customer_id, item_id, score FROM predictions.recommendations "
        f"WHERE run_date = ? {only} ORDER BY customer_id, rank",
        [run_date] + ([list(customer_ids)] if customer_ids is not None else [])).fetchnumpy()
    return recommendations_from_rows(rows) if len(rows["customer_id"]) else None


def recommendations_from_rows(rows) -> Recommendations:
    """Lists from the contract's columns (customer_id, item_id, score) of one run date, ordered
    by customer and rank (every list of a day has the same length)."""
    ids = np.asarray(rows["customer_id"], dtype=object)
    k = len(ids) // len(set(ids))
    return Recommendations(ids[::k], np.asarray(rows["item_id"], dtype=object).reshape(-1, k),
                           np.asarray(rows["score"], dtype=np.float64).reshape(-1, k))


def published_version(con, table: str, run_date: date) -> str | None:
    """The model version(s) of what ``table`` holds for ``run_date`` (None: nothing published)."""
    found = [v for (v,) in con.execute(f"SELECT DISTINCT model_version FROM {table} "
                                       "WHERE run_date = ? ORDER BY 1", [run_date]).fetchall()]
    return ", ".join(found) if found else None


BACKTEST_CUSTOMERS = 5000  # lists backtested on a seeded sample (as monitoring's realised quality)


def lists_against_baseline(full: ShopHistory, origin: date, max_customers: int | None,
                           lists_for: Callable[[recommend_evaluate.OriginScoring], Recommendations],
                           others: dict[str, Callable] | None = None) -> dict[str, dict]:
    """Lists made at ``origin`` (``lists_for(scoring)``: for the scoring's customers) and the
    fallback baseline's, for a seeded sample of the customers who bought in the 30 days after
    it (``full`` reaches them), scored with the benchmark's metric code. The baseline reads only
    the sampled customers' own purchases (``OriginScoring.at``). ``others``: more list makers
    (name -> ``lists_for``) scored on the same customers."""
    scoring = recommend_evaluate.OriginScoring.at(full, origin, max_customers)
    fallback = recommend_baselines.BASELINES[recommend_baselines.FALLBACK]
    scored = recommend_evaluate.realised(scoring, lists_for(scoring),
                                         lambda cut, c: recommend_baselines.recommend(cut, fallback, c))
    return scored | {name: scoring.score(lists(scoring)) for name, lists in (others or {}).items()}


def backtest_lists(network, full: ShopHistory, origin: date) -> dict[str, dict]:
    """The network's lists of ``origin`` (from the whole history known then), the baseline's,
    and the two-stage recommender's where it was trained with the network."""
    known = full.until(origin)
    others = {} if network.ranker is None else {TWO_STAGE: lambda scoring: ranker.recommend(
        network.ranker, known, scoring.customers)}
    scored = lists_against_baseline(full, origin, BACKTEST_CUSTOMERS, lambda scoring: recommend_with(
        network, known, scoring.customers), others)
    return {GATE_NETWORK: scored.pop("model"), BASELINE: scored.pop("baseline"), **scored}


def train_recommender_models(history: ShopHistory, cfg, log_line: Callable, start_from):
    """The network (meta-trained, from ``start_from``'s weights when given) and, with
    ``two_stage``, the two-stage recommender's ranker on the same history."""
    trained = meta_trained(train_recommender, history, cfg, log_line, start_from)
    if cfg.two_stage:
        started = time.perf_counter()
        trained.ranker = ranker.train(history, customers_per_origin=cfg.ranker_customers)
        trained.metrics["ranker_seconds"] = time.perf_counter() - started
    return trained


def serve_recommender(model, winner: str):
    """The two-stage recommender when it won the gate and was trained with this model."""
    return ranker.TwoStage(model) if winner == TWO_STAGE and model.ranker is not None else model


def scored_samples(full: ShopHistory, origins: list[date], max_customers: int | None
                   ) -> dict[date, ShopHistory]:
    """By origin, the customers realised quality scores there (``OriginScoring.at``'s sample:
    it draws the same ones from this part) with their purchases only, where the samples
    together are under half the shop's customers (a daily run: 5,000 of 75,800 at a year of
    the foundation benchmark); the whole history for each otherwise (a backfill scores an
    origin every 7 days)."""
    if max_customers is None or 2 * len(origins) * max_customers > len(full.purchases.customer_ids):
        return dict.fromkeys(origins, full)
    return {origin: recommend_evaluate.sampled_history(full, origin, max_customers)[0]
            for origin in origins}


def recommend_served(model, full: ShopHistory, days: list[date]) -> list[Recommendations]:
    if isinstance(model, ranker.TwoStage):
        return ranker.recommend_days(model.trained.ranker, full, days)
    return recommend_days(model, full, days)


RECOMMENDER = Predictor(
    name="recommend", model="recommender", table="predictions.recommendations", config=lambda s: s.recommender,
    load=load_history, history_days=lambda h: h.items.days,
    baseline=lambda h: recommend_baselines.recommend(
        h, recommend_baselines.BASELINES[recommend_baselines.FALLBACK]),
    baseline_version=f"baseline-{recommend_baselines.FALLBACK}",
    train=train_recommender_models, predict=recommend_served, rows=recommendation_table,
    entities=lambda r: len(r.customer_ids),
    gate=GateSpec(RECOMMENDATION_WINDOW_DAYS, "recall_at_20 all", lower_is_better=False,
                  backtest=backtest_lists),
    # the purchase history grows with the shop (16 bytes an event): the stages after this one
    # hold only the customers that monitoring scores (docs/decisions/0024)
    serving=serve_recommender, scored_parts=scored_samples)


# -- the stages -------------------------------------------------------------------------------
def forecast_window(ctx: RunContext, window: Window) -> Window:
    return predict_window(ctx, window, FORECASTER)


def recommend_window(ctx: RunContext, window: Window) -> Window:
    return predict_window(ctx, window, RECOMMENDER)


def predict_window(ctx: RunContext, window: Window, predictor: Predictor) -> Window:
    """The stage; it hands on (``Window.histories``) what monitoring's realised quality will
    score of the history it loaded: the stages after it hold that, not the whole history."""
    with db.reader(ctx.settings) as con:
        full = predictor.load(con, window.end)
    predict_days(ctx.settings, predictor, list(window.days), full=full)
    realised = ctx.monitoring.realised
    first = window.end - timedelta(days=predictor.history_days(full) - 1)
    origins = realised_origins(list(window.days), realised.every_days,
                               predictor.gate.horizon_days, first)
    return window.with_(histories={**window.histories, (predictor.name, window.end):
                                   predictor.scored_parts(full, origins, realised.max_customers)})


def realised_origins(days: list[date], every_days: int, horizon_days: int, first: date
                     ) -> list[date]:
    """The origins (D - horizon) of the days realised quality scores in a run of ``days``
    (``on_cadence``), from the history's first day on (nothing was published before it)."""
    last = max(days)
    return [d - timedelta(days=horizon_days) for d in days if on_cadence(d, last, every_days)
            and d - timedelta(days=horizon_days) >= first]


def load_served(models_dir, predictor: Predictor, version: str):
    """What served a published ``model_version``, loaded from the registry as the model stage
    serves it (a ``+pooled``, ``+boosted`` or ``+two-stage`` version: that part of the
    registered model);
    None for the baseline."""
    if version == predictor.baseline_version:
        return None
    version, head, _ = split_version(version)
    return predictor.serving(registry.load(models_dir / predictor.model / version), head)
