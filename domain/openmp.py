"""How long an idle OpenMP thread spins before it sleeps, set before LightGBM or PyTorch loads.

Both run their threads on GNU OpenMP (libgomp), whose idle threads spin 300,000 times before
they sleep. Alone on the 2 cores that is a little faster; beside another busy process (a second
run, a test suite, a laptop's other work) the spinning threads take the cores from the threads
with work, and the boosted trees trained 7-36x slower (66-326 s against 9 s), the network 8x.
A spin of 1,000 costs 6-7% alone and keeps both within 2.7x under two busy processes:
docs/decisions/0047-openmp-threads-that-sleep-sooner.md. An operator's own value stands."""
from __future__ import annotations

import os

SPIN_COUNT = "1000"


def spin_briefly() -> None:
    """Read by libgomp when it loads: call before torch or lightgbm is imported."""
    os.environ.setdefault("GOMP_SPINCOUNT", SPIN_COUNT)
