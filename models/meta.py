"""The inner loop of meta-learning, written with torch.func and shared by the forecaster and the
recommender: a few gradient steps on one task's support data from shared parameters, batched
over tasks with ``vmap``.

A model passes its adapted parameters (a dict of tensors: the forecaster's head, the
recommender's personal layer), one learning rate tensor per parameter (Meta-SGD), and a loss
``loss_fn(params, data) -> scalar`` where ``data`` is any pytree of tensors (one task's samples).
``task_losses`` maps adapt-then-score over a batch of tasks, either with ``vmap`` (padded, masked
support sets; a task without support keeps the shared parameters because its masked loss and
gradient are zero) or with a Python loop over tasks, the reference the benchmark compares with.
With ``first_order`` the inner gradients are constants (FOMAML); otherwise the outer gradient
flows through them (second-order MAML).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import torch
from torch.func import grad, vmap
from torch.utils._pytree import tree_leaves, tree_map

Params = dict[str, torch.Tensor]
LossFn = Callable[[Params, Any], torch.Tensor]


def adapt(params: Params, lrs: Params, support: Any, loss_fn: LossFn, steps: int,
          first_order: bool = False) -> Params:
    """``steps`` gradient steps of one task's support loss."""
    for _ in range(steps):
        g = grad(loss_fn)(params, support)
        if first_order:
            g = {k: v.detach() for k, v in g.items()}
        params = {k: params[k] - lrs[k] * g[k] for k in params}
    return params


def _task_loss(params, lrs, support, query, *, loss_fn, steps, first_order):
    return loss_fn(adapt(params, lrs, support, loss_fn, steps, first_order), query)


def task_losses(params: Params, lrs: Params, support: Any, query: Any, loss_fn: LossFn, *,
                steps: int, first_order: bool = False, batched: bool = True) -> torch.Tensor:
    """Query loss after adaptation, per task: (B,). Every tensor in ``support`` and ``query``
    has the task as its leading axis."""
    fn = partial(_task_loss, loss_fn=loss_fn, steps=steps, first_order=first_order)
    if batched:
        return vmap(fn, in_dims=(None, None, 0, 0))(params, lrs, support, query)
    return torch.stack([fn(params, lrs, _task(support, b), _task(query, b))
                        for b in range(tree_leaves(support)[0].shape[0])])


def _task(batch: Any, b: int) -> Any:
    return tree_map(lambda t: t[b], batch)


def adapt_each(params: Params, lrs: Params, support: Any, loss_fn: LossFn, steps: int) -> Params:
    """Adapted parameters of every task in a batch: each tensor gains a leading task axis. Call
    under ``torch.no_grad()`` at prediction time; torch.func.grad still differentiates inside."""
    return vmap(lambda s: adapt(params, lrs, s, loss_fn, steps, first_order=True))(support)

