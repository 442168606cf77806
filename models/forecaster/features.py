"""Model inputs for (item, origin) pairs, computed from the panel up to each origin only.

An origin t is a day column; its sample is the item's scaled lag window ending at t, static and
calendar features as of t, and the targets t+1..t+28. A task (one item at one origin) has that
query sample and a support set: the same item at earlier origins t-7, t-14, ..., whose targets
are masked after t and before the item existed, so support never peeks past t.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from domain.rules import COLD_ITEM_DAYS
from models.content import word_ids
from models.forecaster.metrics import HORIZON
from models.panel import NEVER, DemandPanel

LAGS = 56
SUPPORT_ORIGINS = 8          # default support origins t-7, ..., t-56
PRIOR_WEIGHT_DAYS = 7        # a new item's scale leans on the prior until it has a week
SCALE_FLOOR = 0.05
LAG_CLIP = 30.0
STATIC = ("log_scale", "log_history", "never_sold", "young", "recency", "active_share_28",
          "log_price", "price_change_7", "shop_trend", "listed", "log_category_level")
N_FEATURES = LAGS + len(STATIC) + 7  # lags, statics, day of week of the origin
FIRST_ORIGIN = LAGS // 2 - 1  # the earliest origin column: 28 days of history before it


@dataclass
class Samples:
    """Tensors for a batch of samples with any leading shape (tasks, or tasks x support)."""
    x: torch.Tensor         # (..., N_FEATURES)
    category: torch.Tensor  # (...,) long
    words: torch.Tensor     # (..., WORDS_PER_ITEM) long: the description's hashed words, 0 padding
    scale: torch.Tensor     # (...,) units per day the network's outputs are multiplied by
    norm: torch.Tensor      # (...,) divides errors in the loss (RMSSE's scale as of the origin)
    y: torch.Tensor         # (..., 28)
    mask: torch.Tensor      # (..., 28) float, 1 where the target counts

    def map(self, fn) -> "Samples":
        return Samples(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})


class FeatureBuilder:
    """Cumulative sums of the panel so that any (item, origin) sample costs a few lookups."""

    def __init__(self, panel: DemandPanel, categories: list[str]):
        self.panel = panel
        n, t = panel.units.shape
        units = panel.units.astype(np.float64)
        self.padded = np.concatenate([np.zeros((n, LAGS)), units, np.zeros((n, HORIZON))], axis=1)

        def cum(a):
            return np.concatenate([np.zeros((a.shape[0], 1)), np.cumsum(a, axis=1)], axis=1)

        self.cum_units = cum(units)
        self.cum_revenue = cum(panel.revenue.astype(np.float64))
        self.cum_active = cum((units > 0).astype(np.float64))
        self.cum_sq_diff = cum(np.diff(units, axis=1, prepend=0.0) ** 2)
        self.cum_shop = np.concatenate([[0.0], np.cumsum(units.sum(axis=0))])
        self.first = panel.first_sale()
        self.alive_from = np.where(self.first == NEVER, panel.launch,
                                   np.where(panel.launch == NEVER, self.first,
                                            np.minimum(self.first, panel.launch)))
        lookup = {c: i + 1 for i, c in enumerate(categories)}  # 0: a category not seen in training
        self.category = np.array([lookup.get(c, 0) for c in panel.category], dtype=np.int64)
        self.words = word_ids(panel.item_name)
        # items grouped by their category as it is named (not the training vocabulary's row):
        # what items like a new one sell is read from its own category's items
        names, self.category_group = np.unique(panel.category.astype(str), return_inverse=True)
        self.category_groups = len(names)
        self.list_price = panel.list_price
        self.dow0 = panel.start.weekday()
        self._origin_cache: dict[int, tuple[float, float, float]] = {}
        self._category_cache: dict[int, np.ndarray] = {}

    # -- per-origin population statistics (of items alive at that origin) --------------------
    def _origin_stats(self, t: int) -> tuple[float, float, float]:
        """The prior level of a young item, the mean 28-day revenue of sellable items and the
        median unit price of items sold by t (the price of an unlisted item without recent
        sales). All from columns up to t: a panel that runs past t gives the same samples at t
        as one cut at t, which lets the days that share a model use one feature index."""
        if t not in self._origin_cache:
            h = t - self.first
            has = (self.first != NEVER) & (h >= 0)
            span = np.clip(h + 1, 1, LAGS)
            rows = np.arange(len(h))
            level = np.where(has, (self.cum_units[:, t + 1] - self.cum_units[rows, np.maximum(t + 1 - span, 0)])
                             / span, np.nan)
            young = has & (h < COLD_ITEM_DAYS)
            pool = level[young] if young.sum() >= 5 else level[has]
            prior = float(np.nanmedian(pool)) if np.isfinite(pool).any() else 1.0
            sellable = self.panel.sellable(t)
            revenue = self.cum_revenue[sellable, t + 1] - self.cum_revenue[sellable, max(t - 27, 0)]
            mean_revenue = float(revenue.mean()) if len(revenue) and revenue.mean() > 0 else 1.0
            units_by_t, revenue_by_t = self.cum_units[:, t + 1], self.cum_revenue[:, t + 1]
            sold = units_by_t > 0
            price = float(np.median(revenue_by_t[sold] / units_by_t[sold])) if sold.any() else 1.0
            self._origin_cache[t] = (max(prior, SCALE_FLOOR), mean_revenue, price)
        return self._origin_cache[t]

    def _category_level(self, t: int) -> np.ndarray:
        """Per category group: the mean daily units over the 28 days up to t of its items sold
        by t (what an item of that category sells; a new item's best guess before its own
        sales say more). Columns up to t only."""
        if t not in self._category_cache:
            sold = (self.first != NEVER) & (self.first <= t)
            recent = (self.cum_units[:, t + 1] - self.cum_units[:, max(t - 27, 0)]) / 28
            group, n = self.category_group[sold], self.category_groups
            total = np.bincount(group, weights=recent[sold], minlength=n)
            count = np.bincount(group, minlength=n)
            self._category_cache[t] = np.where(count > 0, total / np.maximum(count, 1), 0.0)
        return self._category_cache[t]

    def _stats_at(self, origins: np.ndarray) -> np.ndarray:
        """(len(origins), 3) ``_origin_stats`` of each origin."""
        distinct, position = np.unique(origins, return_inverse=True)
        return np.array([self._origin_stats(int(t)) for t in distinct]).reshape(-1, 3)[position]

    def task_weights(self, items: np.ndarray, origins: np.ndarray, revenue_share: float) -> np.ndarray:
        """Outer-loss weight per task: a mix of its revenue (as WRMSSE weighs) and uniform."""
        revenue = self.cum_revenue[items, origins + 1] - self.cum_revenue[items, np.maximum(origins - 27, 0)]
        mean = self._stats_at(origins)[:, 1]
        return revenue_share * revenue / mean + (1 - revenue_share)

    # -- samples ---------------------------------------------------------------------------------
    def samples(self, items: np.ndarray, origins: np.ndarray, limit: np.ndarray | int | None
                ) -> Samples:
        """Samples for flat arrays of item rows and origin columns; targets after ``limit``
        (a column, per sample or shared) or before the item existed are masked."""
        items = np.asarray(items, np.int64)
        origins = np.asarray(origins, np.int64)
        valid = origins >= 0
        t = np.maximum(origins, 0)
        first = self.first[items]
        h = np.where((first != NEVER) & (first <= t), t - first, -1)  # history days, -1: none yet
        span = np.clip(h + 1, 0, LAGS)
        level = np.where(span > 0, (self.cum_units[items, t + 1]
                                    - self.cum_units[items, t + 1 - span]) / np.maximum(span, 1), 0.0)
        stats = self._stats_at(t)
        prior = stats[:, 0]
        scale = np.maximum((span * level + PRIOR_WEIGHT_DAYS * prior) / (span + PRIOR_WEIGHT_DAYS),
                           SCALE_FLOOR)
        sq = self.cum_sq_diff[items, t + 1] - self.cum_sq_diff[items, np.clip(first + 1, 0, None)]
        msd = np.where(h >= 1, sq / np.maximum(h, 1), 0.0)
        norm = np.where(msd > 0, np.sqrt(msd), scale)
        norm = np.maximum(norm, SCALE_FLOOR)

        cols = t[:, None] + 1 + np.arange(LAGS)[None, :]  # padded columns of t-55..t
        lags = self.padded[items[:, None], cols]
        scaled_lags = np.clip(lags / scale[:, None], 0, LAG_CLIP)
        sold_in_window = lags > 0
        last_pos = np.where(sold_in_window.any(axis=1),
                            LAGS - 1 - np.argmax(sold_in_window[:, ::-1], axis=1), -1)
        recency = np.where(last_pos >= 0, (LAGS - 1 - last_pos) / LAGS, 1.0)
        window28 = np.clip(h + 1, 1, 28)
        active = (self.cum_active[items, t + 1] - self.cum_active[items, np.maximum(t - 27, 0)]) / window28

        def window_sum(cum, days):
            return cum[items, t + 1] - cum[items, np.maximum(t + 1 - days, 0)]

        units90, revenue90 = window_sum(self.cum_units, 90), window_sum(self.cum_revenue, 90)
        units7, revenue7 = window_sum(self.cum_units, 7), window_sum(self.cum_revenue, 7)
        price90 = np.where(units90 > 0, revenue90 / np.maximum(units90, 1e-9),
                           np.where(np.isfinite(self.list_price[items]), self.list_price[items],
                                    stats[:, 2]))
        change7 = np.where((units7 > 0) & (units90 > 0),
                           np.log(np.maximum(revenue7 / np.maximum(units7, 1e-9), 1e-6)
                                  / np.maximum(price90, 1e-6)), 0.0)
        shop7 = self.cum_shop[t + 1] - self.cum_shop[np.maximum(t - 6, 0)]
        shop28 = self.cum_shop[t + 1] - self.cum_shop[np.maximum(t - 27, 0)]
        trend = np.log((shop7 / 7 + 1) / (shop28 / 28 + 1))
        distinct, position = np.unique(t, return_inverse=True)
        levels = np.stack([self._category_level(int(o)) for o in distinct]).reshape(len(distinct), -1)
        category_level = levels[position, self.category_group[items]] if len(items) else np.zeros(0)
        static = np.stack([
            np.log1p(scale), np.log1p(np.maximum(h, 0)) / np.log(366), (h < 0).astype(float),
            ((h >= 0) & (h < COLD_ITEM_DAYS)).astype(float), recency, active, np.log1p(np.maximum(price90, 0)),
            np.clip(change7, -2, 2), trend, (self.panel.launch[items] != NEVER).astype(float),
            np.log1p(category_level),
        ], axis=1)
        dow = np.eye(7)[(self.dow0 + t) % 7]
        x = np.concatenate([scaled_lags, static, dow], axis=1)

        target_cols = t[:, None] + 1 + np.arange(HORIZON)[None, :]
        y = self.padded[items[:, None], target_cols + LAGS]
        if limit is None:
            limit = self.panel.days - 1
        limit = np.broadcast_to(np.asarray(limit), t.shape)[:, None]
        alive = self.alive_from[items]
        mask = ((target_cols <= limit) & (target_cols < self.panel.days)
                & (alive[:, None] != NEVER) & (target_cols >= alive[:, None]) & valid[:, None])
        return Samples(
            x=torch.from_numpy(x.astype(np.float32)),
            category=torch.from_numpy(self.category[items]),
            words=torch.from_numpy(self.words[items]),
            scale=torch.from_numpy(scale.astype(np.float32)),
            norm=torch.from_numpy(norm.astype(np.float32)),
            y=torch.from_numpy(np.where(mask, y, 0.0).astype(np.float32)),
            mask=torch.from_numpy(mask.astype(np.float32)),
        )

    def tasks(self, items: np.ndarray, origins: np.ndarray, query_limit: int | None,
              support_origins: int = SUPPORT_ORIGINS, every_days: int = 7
              ) -> tuple[Samples, Samples]:
        """Query samples (B,) and support samples (B, K) for tasks (item, origin)."""
        items = np.asarray(items, np.int64)
        origins = np.asarray(origins, np.int64)
        query = self.samples(items, origins, query_limit)
        k = np.arange(1, support_origins + 1)
        s_items = np.repeat(items, support_origins)
        s_origins = (origins[:, None] - every_days * k[None, :]).reshape(-1)
        s_limit = np.repeat(origins, support_origins)
        support = self.samples(s_items, s_origins, s_limit)
        support = support.map(lambda a: a.reshape(len(items), support_origins, *a.shape[1:]))
        return query, support


def training_tasks(panel: DemandPanel, every_days: int) -> tuple[np.ndarray, np.ndarray]:
    """(items, origins) of every task whose query window ends by the panel's last day."""
    end = panel.days - 1
    items, origins = [], []
    for t in range(end - HORIZON, FIRST_ORIGIN - 1, -every_days):
        rows = np.flatnonzero(panel.sellable(t))
        items.append(rows)
        origins.append(np.full(len(rows), t))
    if not items:
        raise ValueError(f"the panel has {panel.days} days: too few to build a training origin "
                         f"(needs at least {FIRST_ORIGIN + 1 + HORIZON})")
    return np.concatenate(items), np.concatenate(origins)
