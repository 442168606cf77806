"""The daily flow for one run date in this process, optionally killed inside one stage, as an
out-of-memory kill or a lost node does it: SIGKILL to the whole process group, no clean-up.

    python -m tests.flows.killable 2025-02-25                 # run; print each stage's seconds
    python -m tests.flows.killable 2025-02-25 forecast 0.8    # killed 0.8 s into forecast, or
                                                              # as it returns if it ends sooner

A kill "as it returns" lands after the stage's work and before the runner records anything: the
widest window between a stage's writes and the ledger. Used by tests/flows/test_kill.py.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from datetime import date

from pipeline.definition import STAGES


def _kill() -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def _timed(stage, seconds: dict, kill_after: float | None):
    real = stage.run

    def run(ctx, window):
        if kill_after is not None:
            threading.Timer(kill_after, _kill).start()
        started = time.perf_counter()
        out = real(ctx, window)
        seconds[stage.name] = seconds.get(stage.name, 0.0) + time.perf_counter() - started
        if kill_after is not None:
            _kill()
        return out
    return run


def main(argv: list[str]) -> None:
    run_date = date.fromisoformat(argv[0])
    victim, delay = (argv[1], float(argv[2])) if len(argv) > 2 else (None, None)
    seconds: dict[str, float] = {}
    for stage in STAGES:  # the flows run these very objects
        object.__setattr__(stage, "run", _timed(stage, seconds,
                                                delay if stage.name == victim else None))
    from flows.daily import daily

    daily(run_date=run_date)
    print(json.dumps({"stage_seconds": seconds}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
