"""The global forecaster: an MLP body shared by all items and a small head adapted per item.

The body maps a sample (scaled lag window, statics, calendar, category, description words) to an
embedding: the words and the category level let an item with little or no history start from
what items like it sell. The
head maps the embedding to 28 x 4 numbers: the mean and the 0.1/0.5/0.9 quantiles of each
target day, in units of the item's scale. Quantiles are built as cumulative softplus steps, so
0 <= p10 <= p50 <= p90 holds by construction. Only the head is adapted per item (ANIL-style),
which keeps the inner loop small enough to batch over thousands of items with torch.func.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from models.content import VOCABULARY
from models.forecaster.features import N_FEATURES, Samples
from models.forecaster.metrics import HORIZON, QUANTILES

OUTPUTS = 4  # mean, p10, p50, p90


class Forecaster(nn.Module):
    def __init__(self, n_categories: int, hidden: int = 256, embedding: int = 128,
                 category_dim: int = 8, inner_lr: float = 0.1, word_dim: int = 8):
        super().__init__()
        self.category = nn.Embedding(n_categories + 1, category_dim)
        self.words = nn.Embedding(VOCABULARY, word_dim, padding_idx=0)
        self.body = nn.Sequential(
            nn.Linear(N_FEATURES + category_dim + word_dim, hidden), nn.GELU(),
            nn.Linear(hidden, hidden), nn.GELU(),
            nn.Linear(hidden, embedding), nn.GELU(),
        )
        self.head = nn.Linear(embedding, HORIZON * OUTPUTS)
        # Meta-SGD-style inner learning rates, one per head parameter, learned in the outer loop
        self.inner_log_lr = nn.ParameterDict({
            name: nn.Parameter(torch.full_like(p, float(torch.log(torch.tensor(inner_lr)))))
            for name, p in self.head.named_parameters()})

    def embed(self, s: Samples) -> torch.Tensor:
        return self.body(torch.cat([s.x, self.category(s.category), self.description(s.words)],
                                   dim=-1))

    def description(self, words: torch.Tensor) -> torch.Tensor:
        """The mean embedding of the description's words (..., word_dim); zeros without any."""
        present = (words > 0).unsqueeze(-1).to(self.words.weight.dtype)
        return (self.words(words) * present).sum(-2) / present.sum(-2).clamp_min(1.0)

    def head_params(self) -> dict[str, torch.Tensor]:
        return dict(self.head.named_parameters())

    def inner_lrs(self) -> dict[str, torch.Tensor]:
        return {k: v.exp() for k, v in self.inner_log_lr.items()}


def decode(head: dict[str, torch.Tensor], h: torch.Tensor, scale: torch.Tensor
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Head parameters applied to embeddings: mean (..., 28) and quantiles (..., 28, 3), units."""
    return decode_outputs(F.linear(h, head["weight"], head["bias"]), scale)


def decode_outputs(out: torch.Tensor, scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The head's raw outputs (..., 28 * 4) as mean and quantiles in units."""
    steps = F.softplus(out.unflatten(-1, (HORIZON, OUTPUTS)))
    s = scale[..., None]
    mean = steps[..., 0] * s
    quantiles = torch.cumsum(steps[..., 1:], dim=-1) * s[..., None]
    return mean, quantiles


class Targets(NamedTuple):
    """What the loss needs of samples besides their embeddings (a pytree, so vmap maps it)."""
    scale: torch.Tensor
    norm: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor

    @classmethod
    def of(cls, s: Samples) -> "Targets":
        return cls(s.scale, s.norm, s.y, s.mask)


def loss(head: dict[str, torch.Tensor], samples: tuple[torch.Tensor, Targets], huber_delta: float,
         quantile_weight: float) -> torch.Tensor:
    """Masked loss of samples (their embeddings and targets) on the scale RMSSE uses: Huber on
    the mean (robust to a rare huge wholesale order) plus pinball loss on the quantiles; a mean
    over observed target days."""
    h, s = samples
    return output_loss(F.linear(h, head["weight"], head["bias"]), s, huber_delta, quantile_weight)


def output_loss(out: torch.Tensor, s: Targets, huber_delta: float, quantile_weight: float,
                per_task: bool = False) -> torch.Tensor:
    """``loss`` of the head's raw outputs (..., 28 * 4); with ``per_task`` the leading axis is
    the task and one loss per task comes back."""
    mean, q = decode_outputs(out, s.scale)
    norm = s.norm[..., None]
    err = (s.y - mean) / norm
    point = F.huber_loss(err, torch.zeros_like(err), reduction="none", delta=huber_delta)
    levels = torch.tensor(QUANTILES, dtype=out.dtype, device=out.device)
    diff = (s.y[..., None] - q) / norm[..., None]
    pinball = torch.maximum(levels * diff, (levels - 1) * diff).sum(-1)
    per_day = point + quantile_weight * pinball
    if per_task:
        axes = tuple(range(1, per_day.dim()))
        return (per_day * s.mask).sum(axes) / s.mask.sum(axes).clamp_min(1.0)
    return (per_day * s.mask).sum() / s.mask.sum().clamp_min(1.0)


def adapted_outputs(head: dict[str, torch.Tensor], lrs: dict[str, torch.Tensor],
                    h_support: torch.Tensor, support: Targets, h_query: torch.Tensor,
                    steps: int, task_loss, create_graph: bool = False) -> torch.Tensor:
    """The query outputs (tasks, 28 * 4) of the head after ``steps`` inner steps on each task's
    support, as ``models.meta``'s vmapped inner loop gives them (tested), but without a copy
    of the head per task.

    The head is linear (out = W h + b), so a step's gradient is a sum of outer products
    g_u h_u^T over the support samples u, and after any number of steps W_k = W - lr_W * sum_u
    A_u h_u^T with A_u the sum of sample u's output gradients so far. An output of the adapted
    head is then out(h) = W h + b - sum_u A_u * (lr_W @ (h_u * h)) - lr_b * sum_u A_u: per task
    a few (support x support) products instead of 14,000 weights written per step, which is
    what bounded a forecast day of a large catalogue (decision 0011). With ``create_graph``
    the gradients of the inner steps stay differentiable (second-order MAML's outer gradient);
    ``task_loss(out, targets)`` returns one loss per task."""
    weight, bias = head["weight"], head["bias"]
    if steps == 0:
        return F.linear(h_query, weight, bias)
    lr_weight, lr_bias = lrs["weight"], lrs["bias"]
    if not create_graph:  # first order: the inner gradients, support embeddings included, are constants
        h_support = h_support.detach()
    base = F.linear(h_support, weight, bias)                       # (T, S, P)
    # coupling[t, s, u] = lr_W @ (h_u * h_s): output s's change per unit of u's gradient
    coupling = F.linear(h_support[:, :, None, :] * h_support[:, None, :, :], lr_weight)
    summed = torch.zeros_like(base)                                # A: (T, S, P)
    for _ in range(steps):
        with torch.enable_grad():
            out = (base - torch.einsum("tsup,tup->tsp", coupling, summed)
                   - lr_bias * summed.sum(1, keepdim=True))
            if not out.requires_grad:  # at prediction, under no_grad: a leaf to differentiate
                out.requires_grad_()
            (g,) = torch.autograd.grad(task_loss(out, support).sum(), out,
                                       create_graph=create_graph)
        summed = summed + g
    query_coupling = F.linear(h_query[:, None, :] * h_support, lr_weight)  # (T, S, P)
    return (F.linear(h_query, weight, bias) - torch.einsum("tup,tup->tp", query_coupling, summed)
            - lr_bias * summed.sum(1))
