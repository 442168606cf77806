"""Meta-training across processes with torch.distributed, launched by torchrun.

    train_across(meta_train, data, cfg, processes=2)  # in the caller's process

runs ``python -m torch.distributed.run --standalone --nproc_per_node N -m models.across DIR``:
every process loads the same inputs from DIR, joins the process group (``backend_for``: nccl
where every process trains on a GPU of its own, gloo on the CPU or where processes share a GPU),
and runs the same ``meta_train``; each takes a disjoint share of every batch of tasks and the
gradients are summed before each step (models/meta.py: ``my_share``, ``outer_loop``), so the
processes hold the same weights throughout. Process 0 writes the trained model into DIR
(models/registry.py's artifact) and every process a digest of its weights.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from domain.memory import allocation_env
from models import registry
from models.meta import training_device

INPUTS, RESULT = "inputs.pkl", "model"


def weights_digest(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def backend_for(device: str, processes: int) -> str:
    """The process group's backend for a training on ``device`` (the config's cpu, cuda,
    auto): nccl where each process has a GPU of its own; gloo on the CPU, and where processes
    share a GPU (nccl refuses two processes on one device; gloo reduces CUDA tensors too)."""
    if training_device(device).type == "cuda" and torch.cuda.device_count() >= processes:
        return "nccl"
    return "gloo"


def train_across(meta_train: Callable, data: Any, cfg: Any, processes: int,
                 start_from: Any = None, workdir: Path | None = None) -> Any:
    """``meta_train(data, cfg, log=None, start_from=...)`` in ``processes`` processes; returns
    the trained model as process 0 saved it. ``workdir`` keeps the inputs, the model, the
    backend the processes used (``backend``) and each process's weight digest
    (``rank-N.sha256``) for inspection."""
    with tempfile.TemporaryDirectory(prefix="shopcast-across-") as tmp:
        folder = Path(workdir or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / INPUTS, "wb") as fh:
            pickle.dump((meta_train, data, cfg, start_from), fh)
        done = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--standalone",
             f"--nproc_per_node={processes}", "-m", "models.across", str(folder)],
            capture_output=True, text=True,
            env={**os.environ, **allocation_env()})  # the ranks allocate as this process does
        if done.returncode != 0:
            raise RuntimeError(f"meta-training across {processes} processes failed "
                               f"(exit {done.returncode}):\n{done.stderr[-3000:]}")
        (path,) = (folder / RESULT).iterdir()
        return registry.load(path / next(p.name for p in path.iterdir()))


def _main(folder: Path) -> None:
    with open(folder / INPUTS, "rb") as fh:
        meta_train, data, cfg, start_from = pickle.load(fh)
    world = int(os.environ["WORLD_SIZE"])
    backend = backend_for(cfg.device, world)
    if backend == "nccl":  # before the group forms: nccl binds each process to its GPU
        torch.cuda.set_device(training_device(cfg.device))
    dist.init_process_group(backend)
    rank = dist.get_rank()
    # the machine's cores shared out, not each process claiming all of them
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    try:
        trained = meta_train(data, cfg, log=None, start_from=start_from)
        (folder / f"rank-{rank}.sha256").write_text(weights_digest(trained.model))
        if rank == 0:
            registry.save(trained, folder / RESULT)
            (folder / "backend").write_text(backend)
        dist.barrier()
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    _main(Path(sys.argv[1]))
