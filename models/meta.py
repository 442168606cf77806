"""The inner loop of meta-learning, written with torch.func: a few gradient steps on an item's
support samples, from the shared head, batched over items with ``vmap``.

``adapt`` is the inner loop of one task; ``task_losses`` maps it over a batch of tasks, either
with ``vmap`` (padded, masked support sets) or with a Python loop over tasks (the reference the
benchmark compares with). With ``first_order`` the inner gradients are treated as constants
(FOMAML); otherwise the outer gradient flows through them (second-order MAML).
"""
from __future__ import annotations

from functools import partial

import torch
from torch.func import grad, vmap

from models.forecaster import Targets, decode, loss

Params = dict[str, torch.Tensor]


def adapt(head: Params, lrs: Params, h_support: torch.Tensor, support: Targets, steps: int,
          huber_delta: float, quantile_weight: float, first_order: bool = False) -> Params:
    """``steps`` gradient steps on one task's support loss; a task without support keeps the
    shared head (its masked loss and gradient are zero)."""
    support_loss = partial(loss, huber_delta=huber_delta, quantile_weight=quantile_weight)
    params = head
    for _ in range(steps):
        g = grad(support_loss)(params, h_support, support)
        if first_order:
            g = {k: v.detach() for k, v in g.items()}
        params = {k: params[k] - lrs[k] * g[k] for k in params}
    return params


def _task_loss(head, lrs, h_support, support, h_query, query, *, steps, huber_delta,
               quantile_weight, first_order):
    adapted = adapt(head, lrs, h_support, support, steps, huber_delta, quantile_weight, first_order)
    return loss(adapted, h_query, query, huber_delta, quantile_weight)


def task_losses(head: Params, lrs: Params, h_support: torch.Tensor, support: Targets,
                h_query: torch.Tensor, query: Targets, *, steps: int, huber_delta: float,
                quantile_weight: float, first_order: bool = False, batched: bool = True
                ) -> torch.Tensor:
    """Query loss after adaptation, per task: (B,). Support tensors are (B, K, ...), query
    tensors (B, ...)."""
    fn = partial(_task_loss, steps=steps, huber_delta=huber_delta,
                 quantile_weight=quantile_weight, first_order=first_order)
    # the query of one task is one sample: give it a leading axis of 1 inside the task
    h_query, query = h_query[:, None], Targets(*(t[:, None] for t in query))
    if batched:
        return vmap(fn, in_dims=(None, None, 0, 0, 0, 0))(head, lrs, h_support, support, h_query, query)
    return torch.stack([
        fn(head, lrs, h_support[b], Targets(*(t[b] for t in support)), h_query[b],
           Targets(*(t[b] for t in query)))
        for b in range(h_support.shape[0])])


def adapt_and_decode(head: Params, lrs: Params, h_support: torch.Tensor, support: Targets,
                     h_query: torch.Tensor, scale_query: torch.Tensor, *, steps: int,
                     huber_delta: float, quantile_weight: float
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Adapt each task's head on its support, then decode its query: mean (B, 28) and
    quantiles (B, 28, 3). Call under ``torch.no_grad()``; torch.func.grad still differentiates
    inside."""
    def one(h_s, s, h_q, scale):
        adapted = adapt(head, lrs, h_s, s, steps, huber_delta, quantile_weight, first_order=True)
        return decode(adapted, h_q, scale)

    return vmap(one)(h_support, support, h_query, scale_query)
