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

import os
import random
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
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


def adaptation_rates(adaptation: str, mode: str, params: Params,
                     learned: Callable[[], Params], finetune_lr: float) -> Params | None:
    """The per-parameter rates a prediction adapts with, or None for no adaptation:
    ``model`` adapts as the model was trained (its learned rates when meta-trained, none when
    pooled), ``meta`` with the learned rates, ``finetune`` plain SGD at ``finetune_lr`` (the
    pooled + fine-tuning ablation), ``none`` not at all."""
    if adaptation == "model":
        adaptation = "meta" if mode == "maml" else "none"
    if adaptation == "none":
        return None
    if adaptation == "meta":
        return learned()
    if adaptation == "finetune":
        return {name: torch.full_like(p, finetune_lr) for name, p in params.items()}
    raise ValueError(f"adaptation {adaptation!r}: one of model, meta, finetune, none")


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's, torch's and a numpy generator: a training with a fixed seed repeats."""
    random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def distributed() -> tuple[int, int]:
    """(this process's rank, the number of processes) of a torch.distributed training, or
    (0, 1) in a single process."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def training_device(wanted: str) -> torch.device:
    """Where a training's tensors live: ``cpu``, ``cuda`` (under torchrun, this process's
    GPU: its LOCAL_RANK modulo the GPUs visible), or ``auto`` (``cuda`` where a GPU is visible).
    Asking for ``cuda`` without one is an error rather than a silent CPU training."""
    if wanted == "auto":
        wanted = "cuda" if torch.cuda.is_available() else "cpu"
    if wanted == "cpu":
        return torch.device("cpu")
    if wanted != "cuda":
        raise ValueError(f"device {wanted!r}: one of cpu, cuda, auto")
    if not torch.cuda.is_available():
        raise ValueError("device cuda: this process sees no CUDA GPU (torch.cuda.is_available() "
                         "is False); train on cpu or auto")
    local = int(os.environ.get("LOCAL_RANK", 0))
    return torch.device("cuda", local % torch.cuda.device_count())


def device_of(model: torch.nn.Module) -> torch.device:
    """The device of the model's parameters: the batches of its training follow it."""
    return next(model.parameters()).device


def my_share(pick: np.ndarray) -> np.ndarray:
    """This process's disjoint share of a batch of tasks that every process drew alike (same
    seed, same draws): all of it in a single process. Each process scores its share against
    the whole batch's normaliser, and ``outer_loop`` sums the processes' gradients, so the step
    is the single process's step."""
    rank, world = distributed()
    return pick[rank::world]


def _sum_over_processes(model: torch.nn.Module, loss: torch.Tensor) -> torch.Tensor:
    """Sum the gradients (one all_reduce of a flat buffer) and the losses of every process.
    DistributedDataParallel is not used: its hooks do not fire through torch.func's
    functional_call, and it does not support the second-order gradients MAML takes."""
    params = list(model.parameters())
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads] + [loss.detach().reshape(1)])
    dist.all_reduce(flat)
    offset = 0
    for p, g in zip(params, grads):
        p.grad = flat[offset:offset + g.numel()].view_as(p).clone()
        offset += g.numel()
    return flat[-1]


def outer_loop(model: torch.nn.Module, steps: int, learning_rate: float,
               batch_loss: Callable[[], torch.Tensor], log=None, label: str = "loss") -> list[float]:
    """``steps`` outer steps of Adam with a cosine schedule and gradient clipping on the loss of
    a freshly sampled batch of tasks each; returns the losses. Under torch.distributed each
    process computes the loss of its share of the batch (``my_share``) and the gradients are
    summed before the step, so every process takes the same step and holds the same weights."""
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(steps, 1))
    losses = []
    several = distributed()[1] > 1
    for step in range(steps):
        loss = batch_loss()
        optimiser.zero_grad()
        if loss.requires_grad:  # a process whose share is empty contributes nothing
            loss.backward()
        if several:
            loss = _sum_over_processes(model, loss)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if log and (step + 1) % max(steps // 10, 1) == 0:
            log(f"  step {step + 1}/{steps}: {label} {sum(losses[-50:]) / len(losses[-50:]):.4f}")
    return losses
