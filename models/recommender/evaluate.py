"""The recommendation harness of docs/evaluation.md: at each origin D every model sees
``history.until(D)`` only and ranks the whole sellable catalogue for the customers with an order
up to D; customers who also buy in D+1..D+30 are scored against what they bought.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from models.evaluation import mean_over_origins, ratio_over_origins
from models.recommender.data import ShopHistory, sets_by_key, window_buyers, window_purchases
from models.recommender.metrics import WINDOW_DAYS, Recommendations, score

Model = Callable[[ShopHistory, np.ndarray], Recommendations]
SAMPLE_SEED = 20251202


def scored_customers(full: ShopHistory, origin: date, max_customers: int | None = None
                     ) -> tuple[ShopHistory, np.ndarray, dict]:
    """The history at the origin, the customers to score (``scorable``; with
    ``max_customers``, a seeded sample of at most that many) and their relevant items. A
    sample's history holds only the sampled customers' purchases, which is all that scoring
    their lists and an own-items baseline read (``ShopHistory.of_customers``)."""
    full, customers = sampled_history(full, origin, max_customers)
    return full.until(origin), customers, window_purchases(full, origin, WINDOW_DAYS, customers)


def sampled_history(full: ShopHistory, origin: date, max_customers: int | None
                    ) -> tuple[ShopHistory, np.ndarray]:
    """The customers to score at ``origin`` (``scorable``, a seeded sample of at most
    ``max_customers``) and the history holding their purchases only (``full`` itself when all
    of them are scored)."""
    everyone = scorable(full, origin)
    customers = sampled(everyone, max_customers)
    return (full.of_customers(customers) if len(customers) < len(everyone) else full), customers


def scorable(full: ShopHistory, origin: date) -> np.ndarray:
    """Rows of the customers a list of ``origin`` is scored for: an order up to it and one in
    the window after it, sorted."""
    column = (origin - full.purchases.start).days
    return np.intersect1d(full.customers(through=column), window_buyers(full, origin, WINDOW_DAYS))


def sampled(customers: np.ndarray, max_customers: int | None) -> np.ndarray:
    """A seeded sample of at most ``max_customers`` of the sorted ``customers`` (all of them
    when fewer), sorted."""
    if max_customers is None or len(customers) <= max_customers:
        return customers
    rng = np.random.default_rng(SAMPLE_SEED)
    return np.sort(rng.choice(customers, max_customers, replace=False))


def bought_before(history: ShopHistory, customers: np.ndarray) -> dict[str, set[str]]:
    """Each customer's distinct items up to D (what a repeat is)."""
    rows, cols, _ = history.events(customers, np.arange(len(history.items.item_ids)))
    ids = history.purchases.customer_ids[customers]
    return {**{c: set() for c in ids}, **sets_by_key(rows, cols, ids, history.items.item_ids)}


@dataclass(frozen=True)
class OriginScoring:
    """What scoring lists made at an origin needs: the history known then, the customers to
    score, what they bought in the window, their segments, the sellable and the cold items."""
    history: ShopHistory
    customers: np.ndarray
    relevant: dict
    segment: dict
    sellable: np.ndarray
    cold: set
    before: dict

    @classmethod
    def at(cls, full: ShopHistory, origin: date, max_customers: int | None = None) -> "OriginScoring":
        """With ``max_customers``, a seeded sample of the customers to score (a monitoring
        estimate whose cost does not grow with the shop)."""
        history, customers, relevant = scored_customers(full, origin, max_customers)
        segment = dict(zip(history.purchases.customer_ids[customers], history.segments(customers)))
        sellable = history.sellable()
        cold = set(history.items.item_ids[sellable[history.cold_items(sellable)]])
        return cls(history, customers, relevant, segment, history.items.item_ids[sellable], cold,
                   bought_before(history, customers))

    @property
    def customer_ids(self) -> np.ndarray:
        return self.history.purchases.customer_ids[self.customers]

    def score(self, recs: Recommendations) -> dict[str, dict[str, float]]:
        return score(recs, self.relevant, self.segment, self.sellable, self.cold, self.before)


def rolling_origins(full: ShopHistory, origins: list[date], models: dict[str, Model],
                    log=print) -> pd.DataFrame:
    """One row per model, origin and segment with the metrics and the model's seconds."""
    rows = []
    for origin in origins:
        scoring = OriginScoring.at(full, origin)
        for name, model in models.items():
            started = time.perf_counter()
            recs = model(scoring.history, scoring.customers)
            seconds = time.perf_counter() - started
            metrics = scoring.score(recs)
            for seg, values in metrics.items():
                rows.append({"model": name, "origin": origin, "segment": seg,
                             "seconds": seconds, **values})
            if log:
                log(f"  {origin} {name:<32} Recall@20 cold {metrics['cold']['recall_at_20']:.3f}"
                    f" warm {metrics['warm']['recall_at_20']:.3f}  ({seconds:.1f}s)")
    return pd.DataFrame(rows)


def realised(scoring: OriginScoring, published: Recommendations, baseline: Model) -> dict[str, dict]:
    """The lists published at the scoring's origin and the baseline's lists of the same day,
    scored on what their customers bought since: the same metric code as the benchmark,
    restricted to the customers scored (``OriginScoring.at``; with a sample, the baseline must
    read only the customers' own purchases, as the fallback does)."""
    keep = pd.Index(published.customer_ids).isin(scoring.customer_ids)  # hashed: np.isin on objects is quadratic
    mine = Recommendations(published.customer_ids[keep], published.item_ids[keep], published.scores[keep])
    return {"model": scoring.score(mine), "baseline": scoring.score(baseline(scoring.history, scoring.customers))}


def summary(results: pd.DataFrame, reference: str | None = None) -> pd.DataFrame:
    """Mean over origins per model; with a ``reference`` (the oracle), Recall@20 as a ratio."""
    table = mean_over_origins(results, {
        "Recall@20 cold": ("recall_at_20", "cold"), "Recall@20 warm": ("recall_at_20", "warm"),
        "NDCG@20 cold": ("ndcg_at_20", "cold"), "NDCG@20 warm": ("ndcg_at_20", "warm"),
        "catalogue coverage": ("catalogue_coverage", "all"),
        "new-item share": ("new_item_share", "all"),
        "new-item hit rate": ("new_item_hit_rate", "all"),
        "cold customers": ("customers", "cold"), "warm customers": ("customers", "warm"),
    })
    if reference is not None and reference in table.index:
        table = table.join(ratio_over_origins(results, reference, {
            "Recall@20 cold / oracle": ("recall_at_20", "cold"),
            "Recall@20 warm / oracle": ("recall_at_20", "warm")}))
    return table


def repeat_explore(results: pd.DataFrame) -> pd.DataFrame:
    """Mean over origins per model of where Recall@20 comes from: items the customer bought
    before D (repeats) and items new to them (explore)."""
    return mean_over_origins(results, {
        f"{name} {seg}": (metric, seg) for seg in ("cold", "warm")
        for name, metric in (("Recall@20", "recall_at_20"), ("from repeats", "recall_from_repeats"),
                             ("from explore", "recall_from_explore"))})


def repeat_shares(results: pd.DataFrame) -> dict[str, float]:
    """Per segment, the mean share of what scored customers bought that they had bought before
    (the same for every model)."""
    rows = results[results["segment"].isin(["cold", "warm"])]
    per_origin = rows.groupby(["segment", "origin"])["repeat_share"].first()
    return per_origin.groupby(level="segment").mean().to_dict()
