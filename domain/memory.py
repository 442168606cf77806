"""NumPy's transparent-huge-page advice for the large arrays it allocates (docs/decisions/0022).

NumPy reads ``NUMPY_MADVISE_HUGEPAGE`` once, at import; this is the switch that import calls,
for a process whose settings decide it later. A NumPy without the switch keeps its own choice.
"""
from __future__ import annotations

import numpy as np


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
