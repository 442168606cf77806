"""The recommender network, MeLU-style for implicit feedback.

Shared towers turn features into vectors: an item tower (recent orders, age, price, plus the
embedding of its identity, description words and category, so a never-sold item can still be
scored from its words) gives v_i
and a bias b_i; a customer tower (orders, tenure, recency, store, and the pooled content of what
they bought) gives u_c; a repeat tower turns the customer x item signals (bought before, how
often, how recently) into a small vector r_ci. The score is

    s(c, i) = (u_c + shift) . v_i + b_i + r_ci . repeat

where ``shift`` and ``repeat`` are the **personal parameters**: shared initial values learned by
meta-training, adapted per customer in a few gradient steps on their latest order (the inner
loop, models/meta.py), so a customer's taste and their habit of reordering move their ranking.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from models.content import VOCABULARY
from models.recommender.config import RecommenderConfig
from models.recommender.features import CUSTOMER_FEATURES, ITEM_FEATURES, PAIR_FEATURES

REPEAT = 16
STORE_DIM = 8


class Recommender(nn.Module):
    def __init__(self, n_items: int, n_categories: int, n_stores: int, cfg: RecommenderConfig):
        super().__init__()
        d, h, k = cfg.embedding, cfg.hidden, cfg.content
        self.identity = nn.Embedding(n_items + 1, k, padding_idx=0)
        nn.init.normal_(self.identity.weight, std=0.01)
        with torch.no_grad():
            self.identity.weight[0].zero_()
        self.words = nn.EmbeddingBag(VOCABULARY, k, mode="mean", padding_idx=0)
        self.category = nn.Embedding(n_categories + 1, k)
        self.store = nn.Embedding(n_stores + 1, STORE_DIM)
        self.item_tower = nn.Sequential(nn.Linear(ITEM_FEATURES + k, h), nn.GELU(),
                                        nn.Linear(h, d + 1))
        self.customer_tower = nn.Sequential(nn.Linear(CUSTOMER_FEATURES + STORE_DIM + k, h),
                                            nn.GELU(), nn.Linear(h, d))
        self.repeat_tower = nn.Sequential(nn.Linear(PAIR_FEATURES, REPEAT), nn.GELU(),
                                          nn.Linear(REPEAT, REPEAT), nn.GELU())
        self.personal = nn.ParameterDict({
            "shift": nn.Parameter(torch.zeros(d)),
            "repeat": nn.Parameter(torch.full((REPEAT,), 0.1))})
        log_lr = float(torch.log(torch.tensor(cfg.inner_lr)))
        self.inner_log_lr = nn.ParameterDict({
            k: nn.Parameter(torch.full_like(p, log_lr)) for k, p in self.personal.items()})

    def content(self, identity: torch.Tensor, words: torch.Tensor, category: torch.Tensor
                ) -> torch.Tensor:
        """(n, content) of items: identity (0 for an item not seen in training, which then
        relies on its words and category), description words and category."""
        return self.identity(identity) + self.words(words) + self.category(category)

    def items(self, features: torch.Tensor, content: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.item_tower(torch.cat([features, content], dim=-1))
        return out[..., :-1], out[..., -1]

    def customers(self, features: torch.Tensor, store: torch.Tensor, profile: torch.Tensor
                  ) -> torch.Tensor:
        return self.customer_tower(torch.cat([features, self.store(store), profile], dim=-1))

    def repeat(self, pairs: torch.Tensor) -> torch.Tensor:
        return self.repeat_tower(pairs)

    def personal_params(self) -> dict[str, torch.Tensor]:
        return dict(self.personal.items())

    def inner_lrs(self) -> dict[str, torch.Tensor]:
        return {k: v.exp() for k, v in self.inner_log_lr.items()}


def score(personal: dict[str, torch.Tensor], u: torch.Tensor, v: torch.Tensor, b: torch.Tensor,
          r: torch.Tensor) -> torch.Tensor:
    """Scores of one customer's candidate items: u (d,), v (K, d), b (K,), r (K, REPEAT)."""
    return v @ (u + personal["shift"]) + b + r @ personal["repeat"]


def ranking_loss(personal: dict[str, torch.Tensor], task: tuple) -> torch.Tensor:
    """Sampled softmax over one task's candidates with the logQ correction: each positive
    against the whole catalogue, estimated from the sampled negatives weighted by 1 / their
    expected draws; -log(exp(s_pos) / (exp(s_pos) + sum exp(s_neg - log_expected))), averaged
    over positives. Linear in the candidates (BPR over every pair is quadratic) and close to
    what Recall@20 rewards: a positive must beat the catalogue, not one negative.
    ``task`` = (u, v, b, r, positive, mask, log_expected)."""
    u, v, b, r, positive, mask, log_expected = task
    s = score(personal, u, v, b, r)
    pos, neg = positive * mask, (1 - positive) * mask
    negatives = torch.logsumexp(s - log_expected + torch.log(neg.clamp_min(1e-30)), dim=0)
    per_positive = F.softplus(negatives - s)     # log(1 + sum exp(s_neg) / exp(s_pos))
    return (per_positive * pos).sum() / pos.sum().clamp_min(1.0)
