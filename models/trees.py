"""LightGBM models stored as text in a registered model (the forecaster's boosted trees, the
recommender's two-stage ranker): which inputs one was trained on, and loading one only when
they are the inputs this version computes, so that trees saved by older code never score
columns they were not trained on.

A model that scores every day (the served ranker) is compiled to machine code with lleaves
(decision 0050): the same scores as LightGBM's to 1e-14, about 7x faster, for a compilation of
about 2 s that is cached on disk per model and CPU, so each model compiles once per machine."""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)


def inputs_of(model: str) -> list[str]:
    """The inputs a LightGBM model (its text) was trained on, from the model's header."""
    header = re.search(r"^feature_names=(.*)$", model, re.MULTILINE)
    return header.group(1).split() if header else []


def kept(model: str | None, inputs: Sequence[str], owner: str, what: str) -> str | None:
    """``model`` when it was trained on exactly ``inputs``; otherwise None with a warning that
    names the registered model (``owner``) and ``what`` is left out: the gate's candidate sits
    out until the next retrain trains it again on this version's inputs."""
    if model is None or inputs_of(model) == list(inputs):
        return model
    log.warning("%s: its %s was trained on other inputs than this version computes (older "
                "code); left out until the next retrain", owner, what)
    return None


def booster(model: str, inputs: Sequence[str], what: str):
    """LightGBM's model from its text, once it was trained on ``inputs``; otherwise a
    ValueError that names ``what`` and the inputs it lacks."""
    import lightgbm

    _check_inputs(model, inputs, what)
    return lightgbm.Booster(model_str=model)


def compiled(model: str, inputs: Sequence[str], what: str) -> CompiledTrees:
    """``booster``'s model compiled to machine code, for a model that scores many rows: its
    ``predict`` gives LightGBM's scores (to rounding). The first use of a model on a machine
    compiles it (about 2 s for 100 trees); later ones load it from ``cache_dir()``."""
    _check_inputs(model, inputs, what)
    return CompiledTrees(_compile(model))


class CompiledTrees:
    """lleaves' compiled model behind LightGBM's ``predict(x, num_threads=...)``."""

    def __init__(self, model):
        self._model = model

    def predict(self, x, num_threads: int | None = None):
        return self._model.predict(x, n_jobs=num_threads or os.cpu_count())


def cache_dir() -> Path:
    """Where compiled models are kept: the user's cache folder (``$XDG_CACHE_HOME``, else
    ``~/.cache``), as pip and numba keep theirs; safe to delete."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "shopcast" / "trees"


@functools.lru_cache(maxsize=8)  # a backfill scores every day with the same few models
def _compile(model: str):
    from importlib.metadata import version

    import lleaves
    import llvmlite.binding as llvm

    # lleaves does not check that a cached binary is this model's, so the file name carries
    # everything the machine code depends on
    key = hashlib.sha256("\0".join([
        model, version("lleaves"), version("llvmlite"), llvm.get_host_cpu_name(),
        llvm.get_host_cpu_features().flatten()]).encode()).hexdigest()[:32]
    folder = _writable(cache_dir())
    # lleaves reads the model's text from a file, when it compiles
    with tempfile.TemporaryDirectory() as scratch:
        text = Path(scratch) / "model.txt"
        text.write_text(model)
        compiled = lleaves.Model(model_file=str(text))
        if folder is None:
            compiled.compile()
            return compiled
        cached = _intact(folder, key)
        if cached:
            compiled.compile(cache=str(cached))
            return compiled
        # written under a name of this process, then renamed: a run beside this one never
        # loads a half-written binary; the name ends with the bytes' digest (``_intact``)
        part = folder / f"{key}.{os.getpid()}.{threading.get_ident()}.part"
        compiled.compile(cache=str(part))
        os.replace(part, folder / f"{key}.{_digest(part.read_bytes())}.o")
    return compiled


def _intact(folder: Path, key: str) -> Path | None:
    """The cached binary of ``key`` whose bytes still match the digest in its name. One that
    does not (a disk error, a copy cut short) is deleted with a warning and compiled again:
    LLVM aborts the whole process on a damaged object file instead of raising."""
    for path in folder.glob(f"{key}.*.o"):
        if _digest(path.read_bytes()) == path.name.split(".")[1]:
            return path
        log.warning("compiled trees %s are damaged (their bytes do not match their digest); "
                    "compiling again", path)
        path.unlink(missing_ok=True)
    return None


def _digest(binary: bytes) -> str:
    return hashlib.sha256(binary).hexdigest()[:16]


def _writable(folder: Path) -> Path | None:
    """``folder``, made if missing; None (with a warning) where it cannot be: a read-only home
    compiles every time, still correct."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as error:
        log.warning("compiled trees are not cached (%s): %s", folder, error)
        return None
    return folder


def _check_inputs(model: str, inputs: Sequence[str], what: str) -> None:
    found = inputs_of(model)
    if found != list(inputs):
        missing = [f for f in inputs if f not in found]
        raise ValueError(f"{what}: trained on other inputs than this version computes "
                         f"(saved by older code?): {len(found)} inputs against {len(inputs)}, "
                         f"missing {', '.join(missing) or 'none'}")
