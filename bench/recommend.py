"""The recommendation comparison of docs/evaluation.md on a warehouse: baselines, implicit's ALS and
BPR, the two ablations and the meta-learned model, at rolling origins, all scored by
models/recommender/metrics.py over the whole sellable catalogue.

    python -m bench.recommend --data-dir data/online_retail --origins 2011-09-30,2011-10-31
        [--truth data/synthetic/truth/synthetic]  (adds the oracle: ranking by true propensity)

Every learned model is trained at each origin on ``history.until(origin)`` only.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from bench.learned import TrainedPerOrigin, comparison_section, time_daily_stage, train_and_save
from models.evaluation import to_markdown
from models.recommender import baselines, ranker
from models.recommender.config import RecommenderConfig
from models.recommender.data import ShopHistory, distinct, load_history, window_purchases
from models.recommender.evaluate import repeat_explore, repeat_shares, rolling_origins, summary
from models.recommender.metrics import WINDOW_DAYS
from models.recommender.predict import recommend
from models.recommender.train import TrainedRecommender, meta_train

LEARNED = ("ablation: pooled network, no adaptation", "ablation: pooled + per-customer fine-tuning",
           "meta-learned (MAML, personal parameters adapted per customer)",
           "diagnostic: meta-learned initialisation, not adapted")
META = LEARNED[2]
RERANKER = "reference: gradient-boosted reranker of own and popular items (scikit-learn)"
TWO_STAGE = "two-stage: candidates, then a LightGBM lambdarank ranker"
# the two-stage recommender's targets (issue 15): x the best baseline on Online Retail, x the
# oracle on the synthetic shop
TWO_STAGE_TARGETS = {"Online Retail": {"cold": 1.05, "warm": 1.08},
                     "synthetic": {"cold": 0.80, "warm": 0.90}}
REPEAT_ORACLE = "diagnostic: repeat oracle (the own items bought again first)"


class Learned(TrainedPerOrigin):
    """The recommender's variants, over one training per origin and mode."""

    def __init__(self, cfg: RecommenderConfig, log=print):
        super().__init__(meta_train, cfg, log=log)

    def trained(self, history: ShopHistory, mode: str) -> TrainedRecommender:
        return super().trained(history, history.run_date, mode)

    def models(self) -> dict:
        return {
            LEARNED[0]: lambda h, c: recommend(self.trained(h, "pooled"), h, c),
            LEARNED[1]: lambda h, c: recommend(self.trained(h, "pooled"), h, c,
                                               adaptation="finetune",
                                               finetune_lr=self.cfg.inner_lr),
            LEARNED[2]: lambda h, c: recommend(self.trained(h, "maml"), h, c),
            LEARNED[3]: lambda h, c: recommend(self.trained(h, "maml"), h, c, adaptation="none"),
        }


def _as_model(scorer):
    return lambda history, customers: baselines.recommend(history, scorer, customers)


def implicit_models() -> dict:
    """implicit's ALS and BPR on the customer x sellable-item order counts up to D
    (benchmark-only dependency); already bought items stay eligible (customers reorder)."""
    # the bench extra (make bench installs it): rows silently missing from a comparison
    # would read as if the models had been left out on purpose
    from implicit.bpr import BayesianPersonalizedRanking
    from implicit.cpu.als import AlternatingLeastSquares

    def run(make):
        def scorer(history: ShopHistory, items: np.ndarray):
            everyone = history.customers()
            x = history.matrix(everyone, items).tocsr().astype(np.float32)
            model = make()
            model.fit(x, show_progress=False)
            row_of = {c: r for r, c in enumerate(everyone)}
            factors = np.asarray(model.user_factors)
            item_factors = np.asarray(model.item_factors)
            fill = baselines.fill_scores(history, items)
            return lambda customers: factors[[row_of[c] for c in customers]] @ item_factors.T + fill
        return _as_model(scorer)

    return {
        "implicit ALS (64 factors)": run(lambda: AlternatingLeastSquares(
            factors=64, regularization=0.05, iterations=20, random_state=0)),
        "implicit BPR (64 factors)": run(lambda: BayesianPersonalizedRanking(
            factors=64, iterations=100, random_state=0)),
    }


def oracle_model(truth_dir: Path):
    """Ranking by true propensity (synthetic shop): the chance that the customer buys the item
    in D+1..D+30 under the generator, 1 - exp(-expected lines x share of those lines going to
    the customer). A line goes to a customer drawn by activity x taste for the item's category,
    or (repeat_share) to one of the item's 16 latest buyers, taken from the history up to D."""
    params = json.loads((truth_dir / "params.json").read_text())
    guest, repeat = params["config"]["guest_share"], params["config"]["repeat_share"]
    category_index = {c: k for k, c in enumerate(params["categories"])}
    customers_truth = pd.read_parquet(truth_dir / "customers.parquet")
    items_truth = pd.read_parquet(truth_dir / "items.parquet")
    daily = pd.read_parquet(truth_dir / "item_daily.parquet", columns=["date", "item_id",
                                                                        "expected_lines"])
    daily["date"] = pd.to_datetime(daily["date"]).dt.date
    weight_of = {c: a * np.asarray(t) for c, a, t in zip(
        customers_truth["customer_id"], customers_truth["activity"], customers_truth["taste"])}
    joined = dict(zip(customers_truth["customer_id"], pd.to_datetime(customers_truth["join_date"]).dt.date))
    item_category = dict(zip(items_truth["item_id"], items_truth["category"].map(category_index)))

    def scorer(history: ShopHistory, items: np.ndarray):
        d = history.run_date
        ids = history.items.item_ids[items]
        window = daily[(daily["date"] > d) & (daily["date"] <= d + pd.Timedelta(days=WINDOW_DAYS).to_pytimedelta())]
        lines = window.groupby("item_id")["expected_lines"].sum().reindex(ids).fillna(0).to_numpy()
        cats = np.array([item_category.get(i, 0) for i in ids])
        everyone = [c for c, j in joined.items() if j <= d]
        totals = np.sum([weight_of[c] for c in everyone], axis=0)  # per category
        ring = _latest_buyers(history, items)

        def block(customers: np.ndarray) -> np.ndarray:
            cids = history.purchases.customer_ids[customers]
            w = np.stack([weight_of[c][cats] for c in cids]) / np.maximum(totals[cats], 1e-12)
            share = (1 - guest - repeat) * w
            for r, c in enumerate(customers):
                for col, count in ring.get(int(c), {}).items():
                    share[r, col] += repeat * count
            return 1 - np.exp(-lines[None, :] * share)
        return block

    return _as_model(scorer)


def repeat_oracle(full: ShopHistory):
    """Diagnostic, not a model (it reads the future): each customer's own items that they buy
    again in D+1..D+30 first, then the rest of their own items by frequency, then popularity.
    Its recall from repeats is the most any list can take from items bought before; what a
    model gets beyond that has to come from items new to the customer."""
    def scorer(history: ShopHistory, items: np.ndarray):
        relevant = window_purchases(full, history.run_date, WINDOW_DAYS)
        col_of = {item: col for col, item in enumerate(history.items.item_ids[items])}
        own = baselines.own_frequency(history, items)

        def block(customers: np.ndarray) -> np.ndarray:
            scores = own(customers)
            for r, c in enumerate(history.purchases.customer_ids[customers]):
                cols = [col_of[i] for i in relevant.get(c, ()) if i in col_of]
                scores[r, cols] += 1e6 * (scores[r, cols] >= 1.0)  # bought before: a repeat
            return scores
        return block

    return _as_model(scorer)


def _features(history: ShopHistory):
    """The recommender's feature lookups over a history (no embedding vocabularies needed)."""
    from models.recommender.features import RecFeatures

    return RecFeatures(history, sorted(set(history.items.category)), [],
                       list(history.items.item_ids))


POPULAR_CANDIDATES = 50


def repeat_habits(history: ShopHistory):
    """Signals of how (customer, item) pairs repeat, at D, beyond the network's: days since the
    first purchase, distinct purchase days, their mean gap and days since the last over it; the
    item's share of buyers who bought it again and its buyers in all and in 30 days; the
    customer's share of repeat purchases and of purchases in the item's category. Aggregated
    once per history; returns the lookup of (customers, item rows) pairs."""
    p, d = history.purchases, history.items.days - 1
    item_rows = history.item_rows_of_purchases[p.item]
    keep = item_rows >= 0
    events = pd.DataFrame({"c": p.customer[keep], "i": item_rows[keep], "day": p.day[keep]})
    events["category"] = np.asarray(history.items.category)[events.i]
    pair = events.groupby(["c", "i"]).day.agg(first="min", last="max", days="nunique")
    pair["gap"] = (pair["last"] - pair["first"]) / (pair.days - 1).where(pair.days > 1)
    per_item = pair.groupby(level="i").days.agg(buyers="size", again=lambda n: (n > 1).sum())
    per_item["again"] = (per_item.again + 1) / (per_item.buyers + 5)  # shrunk for rare items
    per_item["buyers_30"] = events[events.day > d - 30].groupby("i").c.nunique()
    per_customer = pair.groupby(level="c").days.agg(pairs="size", days="sum")
    per_customer["repeats"] = 1 - per_customer.pairs / per_customer.days
    category = (events.groupby(["c", "category"]).size() / events.groupby("c").size()).rename("share")

    def lookup(customers: np.ndarray, rows: np.ndarray) -> np.ndarray:
        q = pd.DataFrame({"c": customers, "i": rows,
                          "category": np.asarray(history.items.category)[rows]})
        q = (q.join(pair, on=["c", "i"]).join(per_item, on="i").join(per_customer.repeats, on="c")
             .join(category, on=["c", "category"]))
        since_last = d - q["last"]
        # gaps are -1 for an item bought on one day only or never; first and days NaN if never
        return np.stack([d - q["first"], q.days, q.gap.fillna(-1), (since_last / q.gap).fillna(-1),
                         q.again, np.log1p(q.buyers), np.log1p(q.buyers_30.fillna(0)), q.repeats,
                         q.share.fillna(0)], axis=1).astype(np.float32)
    return lookup


def reranker_candidates(history: ShopHistory, fx, habits, customers: np.ndarray,
                        items: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every customer's own sellable items and the 50 most popular at D: block rows, item
    columns, and their inputs (the recommender's item, repeat and customer features,
    models/recommender/features.py, then ``repeat_habits`` and the item's popularity)."""
    own = history.matrix(customers, items).tocoo()
    popularity = history.popularity(items)
    popular = np.argsort(-popularity, kind="stable")[:POPULAR_CANDIDATES]
    block_rows = np.concatenate([own.row, np.repeat(np.arange(len(customers)), len(popular))])
    cols = np.concatenate([own.col, np.tile(popular, len(customers))])
    key = distinct(block_rows.astype(np.int64) * len(items) + cols)
    block_rows, cols = key // len(items), key % len(items)
    c, i = customers[block_rows], items[cols]
    t = np.full(len(c), history.items.days - 1)
    return block_rows, cols, np.hstack([
        fx.items(i, t), fx.pairs(c, i, t), fx.customers(c, t)[0], habits(c, i),
        np.log1p(popularity[cols])[:, None]])


def candidate_reranker(training_origins: int = 4):
    """Reference, not meta-learned: the strongest plain supervised use of the history we have.
    A gradient-boosted classifier (scikit-learn) learns from the origins D-30, D-60, ... which
    candidates (own items and the most popular) a customer buys in the next 30 days; lists are
    the candidates by that probability, then popularity. It tells whether the targets are out
    of reach of the model or of the data."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from models.recommender.evaluate import scored_customers

    def scorer(history: ShopHistory, items: np.ndarray):
        xs, ys = [], []
        for k in range(1, training_origins + 1):
            origin = history.run_date - pd.Timedelta(days=WINDOW_DAYS * k).to_pytimedelta()
            past, customers, relevant = scored_customers(history, origin)
            sellable = past.sellable()
            rows, cols, x = reranker_candidates(past, _features(past), repeat_habits(past),
                                                customers, sellable)
            ids = past.purchases.customer_ids[customers][rows]
            xs.append(x)
            ys.append([item in relevant[c] for c, item in zip(ids, past.items.item_ids[sellable][cols])])
        model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=0)
        model.fit(np.vstack(xs), np.concatenate(ys))
        fill = baselines.fill_scores(history, items)
        fx, habits = _features(history), repeat_habits(history)

        def block(customers: np.ndarray) -> np.ndarray:
            rows, cols, x = reranker_candidates(history, fx, habits, customers, items)
            scores = np.broadcast_to(fill, (len(customers), len(items))).copy()
            if len(x):
                scores[rows, cols] += 1.0 + model.predict_proba(x)[:, 1]
            return scores
        return block

    return _as_model(scorer)


def _latest_buyers(history: ShopHistory, items: np.ndarray, ring: int = 16) -> dict:
    """{customer: {item column: share of the item's latest ``ring`` buyer lines}} at D."""
    p = history.purchases
    rows, cols, at = history.events(history.customers(), items)
    customers = history.customers()[rows]
    frame = pd.DataFrame({"c": customers, "col": cols, "day": p.day[at], "n": p.orders[at]})
    frame = frame.sort_values(["col", "day"], ascending=[True, False])
    out: dict = {}
    for col, group in frame.groupby("col", sort=False):
        taken, shares = 0.0, {}
        for c, n in zip(group["c"], group["n"]):
            use = min(n, ring - taken)
            shares[c] = shares.get(c, 0.0) + use
            taken += use
            if taken >= ring:
                break
        for c, n in shares.items():
            out.setdefault(int(c), {})[int(col)] = n / taken
    return out


def compare(data_dir: Path, origins: list[date], truth: Path | None = None,
            cfg: RecommenderConfig | None = None, log=print, only: list[str] | None = None
            ) -> tuple[pd.DataFrame, str | None, dict]:
    """Every model at every origin (``only``: the models whose names contain one of these);
    returns the results, the reference row (the oracle on synthetic data) and the training
    seconds."""
    import duckdb

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        full = load_history(con, max(origins) + pd.Timedelta(days=WINDOW_DAYS).to_pytimedelta())
    cfg = cfg or RecommenderConfig()
    learned = Learned(cfg, log=log)
    models = {name: _as_model(scorer) for name, scorer in baselines.BASELINES.items()}
    models |= implicit_models()
    models |= learned.models()
    models[RERANKER] = candidate_reranker()
    models[TWO_STAGE] = lambda history, customers: ranker.recommend(
        ranker.train(history, customers_per_origin=cfg.ranker_customers), history, customers)
    models[REPEAT_ORACLE] = repeat_oracle(full)
    reference = None
    if truth is not None:
        reference = "oracle: ranking by true propensity"
        models[reference] = oracle_model(truth)
    if only:
        models = {name: m for name, m in models.items()
                  if name == reference or any(o in name for o in only)}
    results = rolling_origins(full, origins, models, log=log)
    return results, reference, learned.training_seconds


# -- speed ------------------------------------------------------------------------------------
def history_at(data_dir: Path, origin: date) -> ShopHistory:
    import duckdb

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return load_history(con, origin)


def inner_loop_speed(data_dir: Path, origin: date, cfg: RecommenderConfig, repeats: int = 5
                     ) -> dict:
    """One meta-training step (towers, inner loop, outer backward) on the same tasks, with the
    inner loop vmapped over customers and as a Python loop; medians of ``repeats``."""
    from models.recommender.features import RecFeatures
    from models.recommender.network import Recommender
    from models.recommender.train import Sampler, batch_losses, training_tasks

    history = history_at(data_dir, origin)
    categories = sorted(set(history.items.category))
    stores = history.purchases.stores()
    items = list(history.items.item_ids)
    fx = RecFeatures(history, categories, stores, items)
    tasks = training_tasks(history, fx, cfg)
    pick = [tasks[i] for i in np.random.default_rng(0).choice(len(tasks), cfg.tasks_per_step,
                                                              replace=False)]
    model = Recommender(len(items), len(categories), len(stores), cfg)
    out = {"tasks": cfg.tasks_per_step, "inner_steps": cfg.inner_steps}
    for name, batched in (("vmap", True), ("loop", False)):
        times = []
        for _ in range(repeats + 1):  # the first run warms up
            sampler = Sampler(history, cfg, np.random.default_rng(1))
            started = time.perf_counter()
            batch_losses(model, fx, sampler, pick, cfg, cfg.inner_steps, batched).mean().backward()
            model.zero_grad()
            times.append(time.perf_counter() - started)
        out[f"{name}_s"] = statistics.median(times[1:])
    out["speedup"] = out["loop_s"] / out["vmap_s"]
    return out


def train_once(data_dir: Path, origin: date, cfg: RecommenderConfig) -> dict:
    """One meta-training on the history up to ``origin``, saved to the registry."""
    history = history_at(data_dir, origin)
    seconds, trained, path = train_and_save(meta_train, history, cfg, data_dir / "models")
    return {"train_s": seconds, "days": history.items.days, "tasks": trained.metrics["tasks"],
            "customers": len(history.customers()), "version": path.name}


def register_two_stage(settings, origin: date) -> str:
    """A model trained on the history up to ``origin`` as the pipeline trains one (the network,
    then the two-stage ranker), registered, and its two-stage recommender promoted for
    ``origin`` as the gate serves it where it wins; its published version."""
    from models.gate import TWO_STAGE
    from pipeline.gate import promote, published_version
    from pipeline.predict import RECOMMENDER, train_recommender_models

    _, _, path = train_and_save(
        lambda history, cfg, log: train_recommender_models(history, cfg, lambda *_: None, None),
        history_at(settings.root, origin), settings.recommender, settings.models_dir)
    promoted = published_version(path.name, TWO_STAGE)
    promote(settings, RECOMMENDER.model, promoted, origin, RECOMMENDER.baseline_version)
    return promoted


def daily_recommend(settings, origin: date, repeats: int = 3, promoted: str | None = None) -> dict:
    """The daily flow's recommend stage for one run date with a fresh model in the registry:
    load the history, make every customer's list, top 20, store. ``promoted``: the version the
    stage must serve (``register_two_stage``'s)."""
    from pipeline.predict import RECOMMENDER

    seconds, result = time_daily_stage(RECOMMENDER, settings, origin, repeats)
    if promoted and result.model_version != promoted:
        raise RuntimeError(f"the daily stage served {result.model_version} on {origin}, not the "
                           f"promoted {promoted}")
    return {"daily_s": seconds, "customers": result.entities,
            "items": len(history_at(settings.root, origin).sellable()),
            "model_version": result.model_version}


# -- the BENCHMARKS.md section ------------------------------------------------------------------
def _verdict(ok: bool) -> str:
    return "met" if ok else "**NOT met**"


def _against_best(simple: pd.DataFrame, seg: str, value: float) -> tuple[float, str]:
    """``value`` as a ratio to the best simple baseline's Recall@20 of ``seg``, and which."""
    best = simple[f"Recall@20 {seg}"].idxmax()
    return (value / simple.loc[best, f"Recall@20 {seg}"],
            f"the best baseline ({best}, {simple.loc[best, f'Recall@20 {seg}']:.3f})")


def targets(table: pd.DataFrame, dataset: str) -> list[str]:
    simple = table.drop(index=[i for i in table.index if i in LEARNED or i == TWO_STAGE
                               or i.startswith(("oracle", "diagnostic", "reference"))])
    lines = []
    if TWO_STAGE in table.index:
        for seg, factor in TWO_STAGE_TARGETS.get(dataset, {}).items():
            value = table.loc[TWO_STAGE, f"Recall@20 {seg}"]
            r, against = ((table.loc[TWO_STAGE, f"Recall@20 {seg} / oracle"], "the oracle")
                          if dataset == "synthetic" else _against_best(simple, seg, value))
            lines.append(f"- two-stage Recall@20 {seg}: {value:.3f} = {r:.3f} x {against}; "
                         f"target at least {factor:.2f}x: {_verdict(r >= factor)}")
        if dataset not in TWO_STAGE_TARGETS:  # the sparse shop: where issue 15 found 0.3x / 0.85x
            for seg in ("cold", "warm"):
                value = table.loc[TWO_STAGE, f"Recall@20 {seg}"]
                r, against = _against_best(simple, seg, value)
                lines.append(f"- two-stage Recall@20 {seg}: {value:.3f} = {r:.3f} x {against} = "
                             f"{table.loc[TWO_STAGE, f'Recall@20 {seg} / oracle']:.3f} x the "
                             "oracle; no target on this shop")
    if META not in table.index:
        return lines
    m = table.loc[META]
    if "Recall@20 cold / oracle" in table.columns:  # the synthetic shops
        for seg in ("cold", "warm"):
            lines.append(f"- Recall@20 {seg} / oracle = {m[f'Recall@20 {seg} / oracle']:.3f}")
    else:
        for seg, factor in (("cold", 1.15), ("warm", 1.05)):
            r, against = _against_best(simple, seg, m[f"Recall@20 {seg}"])
            lines.append(f"- Recall@20 {seg}: {m[f'Recall@20 {seg}']:.3f} = {r:.3f} x {against}; "
                         f"target at least {factor:.2f}x: {_verdict(r >= factor)}")
    for ablation in LEARNED[:2]:
        if ablation in table.index:
            a = table.loc[ablation]
            beats = all(m[f"Recall@20 {s}"] > a[f"Recall@20 {s}"] for s in ("cold", "warm"))
            lines.append(f"- beats '{ablation}' on Recall@20 cold and warm "
                         f"({m['Recall@20 cold']:.3f} vs {a['Recall@20 cold']:.3f}, "
                         f"{m['Recall@20 warm']:.3f} vs {a['Recall@20 warm']:.3f}): {_verdict(beats)}")
    return lines


def speed_rows(dataset: str, steps: dict) -> list[str]:
    """The speed table's rows of one dataset: a meta-training step, a meta-training, and the
    daily stage with the network served and, where ``daily_two_stage`` ran, with the two-stage
    recommender served, each against its target."""
    inner, train, daily = (steps["recommend_inner_loop_speed"], steps["recommend_train_once"],
                           steps["daily_recommend"])
    rows = [
        f"| {dataset} | one meta-training step, {inner['tasks']} customers, "
        f"{inner['inner_steps']} inner steps | vmap s / per-task loop s | "
        f"{inner['vmap_s']:.3f} / {inner['loop_s']:.3f} = **{inner['speedup']:.1f}x** | "
        f"{inner['peak_rss_mb']:.0f} |",
        f"| {dataset} | meta-training on {train['days']} days, {train['customers']:,} "
        f"customers ({train['tasks']:,} tasks) | s | **{train['train_s']:.0f}** (target 900: "
        f"{_verdict(train['train_s'] < 900)}) | {train['peak_rss_mb']:.0f} |",
        f"| {dataset} | daily recommend stage: load, adapt {daily['customers']:,} customers, "
        f"score {daily['items']:,} items, top 20, store (median of 3) | s | "
        f"**{daily['daily_s']:.1f}** (target 60: {_verdict(daily['daily_s'] < 60)}) | "
        f"{daily['peak_rss_mb']:.0f} |",
    ]
    if "daily_two_stage" in steps:
        two = steps["daily_two_stage"]
        rows.append(
            f"| {dataset} | the same stage with the two-stage recommender served: "
            f"load, candidates and LightGBM ranking for {two['customers']:,} customers x "
            f"{two['items']:,} items, top 20, store (median of 3) | s | "
            f"**{two['daily_s']:.1f}** (target 60: {_verdict(two['daily_s'] < 60)}) | "
            f"{two['peak_rss_mb']:.0f} |")
    return rows


def comparison_markdown(compared: dict, speed: dict, machine: str, notes: dict[str, str]) -> str:
    out = ["## Recommender: comparison with the baselines, and speed", "",
           f"Command: `make bench` (`python -m bench.run --only recommend`), {machine}. Protocol "
           "of docs/evaluation.md: at each origin D every model sees the warehouse's data up to D only "
           "(the learned models are trained at each origin) and ranks the whole sellable "
           "catalogue; customers with an order up to D and one in D+1..D+30 are scored against "
           "the distinct items they buy then; cold = 1-2 orders up to D. Means over origins. "
           "The fine-tuning ablation takes the meta model's number of steps at its initial "
           "inner rate. Each step ran in its own process.", ""]
    for dataset, result in compared.items():
        results, table, opening = comparison_section(dataset, result, summary, notes)
        out += opening
        shares = repeat_shares(results)
        where = ("Where the hits come from (Li et al., \"A Next Basket Recommendation Reality "
                 "Check\", TOIS 2023): Recall@20 split into items the customer had bought before "
                 "D (repeats) and items new to them (explore). Of what the scored customers "
                 f"bought, {shares['cold']:.0%} (cold) and {shares['warm']:.0%} (warm) were "
                 "repeats.")
        out += [where, "", to_markdown(repeat_explore(results)), ""]
        out += ["Targets:", "", *targets(table, dataset), ""]
        if result.get("training"):
            out += ["Training time (s): " + ", ".join(
                f"{k} {v:.0f}" for k, v in sorted(result["training"].items())), ""]
    out += ["### Speed and memory (2 CPU cores)", "",
            "| dataset | step | measure | value | peak MB |", "|---|---|---|---:|---:|"]
    for dataset, steps in speed.items():
        out += speed_rows(dataset, steps)
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--origins", required=True, help="comma-separated run dates D")
    ap.add_argument("--truth", type=Path, help="synthetic ground truth folder: adds the oracle")
    ap.add_argument("--config", default="{}", help="JSON overrides of RecommenderConfig")
    ap.add_argument("--only", help="comma-separated parts of the names of the models to run "
                    "(e.g. own-frequency,two-stage); default: every model")
    args = ap.parse_args(argv)
    results, reference, _ = compare(
        args.data_dir, [date.fromisoformat(d) for d in args.origins.split(",")], args.truth,
        RecommenderConfig(**json.loads(args.config)), only=args.only.split(",") if args.only else None)
    table = summary(results, reference)
    print(to_markdown(table))
    print(to_markdown(repeat_explore(results)))
    dataset = "synthetic" if args.truth else "Online Retail"
    print("\n".join(targets(table, dataset)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

