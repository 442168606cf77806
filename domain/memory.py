"""How a process allocates its large arrays: NumPy's transparent-huge-page advice
(docs/decisions/0022) and Arrow's memory pool (docs/decisions/0023).

NumPy reads ``NUMPY_MADVISE_HUGEPAGE`` once, at import; ``advise_huge_pages`` is the switch that
import calls, for a process whose settings decide it later. A NumPy without the switch keeps its
own choice. Arrow reads ``ARROW_DEFAULT_MEMORY_POOL`` at import too; ``use_arrow_memory_pool``
replaces its default pool for what is allocated from then on.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

ARROW_POOLS = {"system": pa.system_memory_pool, "jemalloc": pa.jemalloc_memory_pool,
               "mimalloc": pa.mimalloc_memory_pool}


def _switch():
    core = getattr(np, "_core", None) or np.core
    return getattr(core.multiarray, "_set_madvise_hugepage", None)


def advise_huge_pages(enabled: bool) -> None:
    """Advise huge pages (or not) for the arrays allocated from now on in this process."""
    switch = _switch()
    if switch is not None:
        switch(enabled)


def advising_huge_pages() -> bool:
    """Whether this process's NumPy advises huge pages now (what a child process should be
    told through ``NUMPY_MADVISE_HUGEPAGE``)."""
    switch = _switch()
    if switch is None:
        return False
    state = switch(False)
    switch(state)
    return bool(state)


def use_arrow_memory_pool(name: str) -> None:
    """Make ``name`` (one of ``ARROW_POOLS``) Arrow's default pool in this process; a pool this
    Arrow build lacks is an error that names it."""
    try:
        pool = ARROW_POOLS[name]()
    except NotImplementedError as e:
        raise ValueError(f"this pyarrow has no {name} memory pool ({e}): choose one of "
                         f"{', '.join(ARROW_POOLS)}") from e
    pa.set_memory_pool(pool)


def allocation_env() -> dict[str, str]:
    """The variables that make a child Python process allocate as this one does (read by NumPy
    and Arrow at their import)."""
    return {"NUMPY_MADVISE_HUGEPAGE": str(int(advising_huge_pages())),
            "ARROW_DEFAULT_MEMORY_POOL": pa.default_memory_pool().backend_name}
