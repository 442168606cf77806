"""A backfill with its per-day work on a local two-worker Dask cluster publishes exactly what the
thread runner publishes. The Dask run is a command in its own process, as an operator runs it:
Dask's worker processes report their task runs to that process's Prefect API."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from domain.paths import REPO_ROOT
from pipeline.settings import Settings
from sources.config import load_source_config
from sources.synthetic import ShopConfig, generate
from warehouse import db
from warehouse.checksums import mart_checksums, published_checksums, table_checksum

pytestmark = pytest.mark.slow
SHOP = ShopConfig(seed=8, days=4, lines_per_day=200, initial_items=60, initial_customers=80)
DAYS = [SHOP.start_date + timedelta(days=i) for i in range(3)]
SOURCE = REPO_ROOT / "configs/sources/synthetic.yaml"


def _shop(root: Path) -> Settings:
    settings = Settings(data_dir=root, source_config=SOURCE)
    generate(SHOP, load_source_config(SOURCE).landing_path(root), root / "truth")
    return settings


def _backfill(settings: Settings, runner: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SHOPCAST_"))}
    env.update(SHOPCAST_DATA_DIR=str(settings.data_dir), SHOPCAST_SOURCE_CONFIG=str(SOURCE),
               SHOPCAST_TASK_RUNNER=runner, SHOPCAST_DASK_WORKERS="2",
               PREFECT_HOME=str(settings.data_dir / "prefect-home"))
    done = subprocess.run([str(Path(sys.executable).parent / "shopcast"), "backfill",
                           "--start", str(DAYS[0]), "--end", str(DAYS[-1])],
                          env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def _outputs(settings: Settings) -> dict:
    with db.reader(settings) as con:
        tables = {t: table_checksum(con, t) for t in (
            "raw.order_lines", "raw.quarantine", "predictions.forecasts",
            "predictions.recommendations")}
        inputs = con.execute("SELECT run_date, fingerprint FROM ops.day_inputs ORDER BY 1").fetchall()
        return {"marts": mart_checksums(con), "tables": tables, "inputs": inputs,
                "published": published_checksums(settings.published_dir)}


def test_a_backfill_on_dask_publishes_what_the_threads_publish(tmp_path):
    threads, dask = _shop(tmp_path / "threads"), _shop(tmp_path / "dask")
    assert "Task run 'day " not in _backfill(threads, "threads")  # the flow's own threads
    log = _backfill(dask, "dask")
    for day in DAYS:  # each day's files were read on the cluster, one task run a day
        assert f"Task run 'day {day}' - Finished in state Completed()" in log
    expected, got = _outputs(threads), _outputs(dask)
    assert got["tables"]["predictions.forecasts"][0] > 0 and len(got["inputs"]) == len(DAYS)
    assert got == expected
