"""The deployments of prefect.yaml on a real Prefect server, as an operator runs them: a server on
127.0.0.1 with its own PREFECT_HOME, a process work pool, `prefect deploy --all`, a worker, and
the backfill deployment run with `prefect deployment run --watch`. Everything started here is
stopped here, whatever the outcome."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from domain.paths import REPO_ROOT
from pipeline.settings import Settings
from sources.config import load_source_config
from sources.synthetic import ShopConfig, generate
from warehouse import db, ledger, publish

pytestmark = pytest.mark.slow
PREFECT = str(Path(sys.executable).parent / "prefect")
SHOP = ShopConfig(seed=5, days=4, lines_per_day=150, initial_items=60, initial_customers=80)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Operator:
    """A shell of an operator on this machine: commands run with the server's and the data's
    environment; background processes are stopped (their whole process group) at the end."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env, self.logs, self.background = env, logs, []

    def run(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(args, env=self.env, cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=timeout)
        assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n" \
                                     f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")
        process = subprocess.Popen(args, env=self.env, cwd=REPO_ROOT, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.background.append((process, log))
        return process

    def stop_all(self) -> None:
        for process, log in reversed(self.background):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            log.close()

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()[-4000:]


@pytest.fixture
def operator(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SHOPCAST_"))}
    env.update({
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "2",       # the worker picks the run up at once
        "SHOPCAST_REPO_DIR": str(REPO_ROOT),       # prefect.yaml's pull step
        "SHOPCAST_DATA_DIR": str(tmp_path / "data"),
        "SHOPCAST_SOURCE_CONFIG": str(REPO_ROOT / "configs/sources/synthetic.yaml"),
    })
    op = Operator(env, tmp_path)
    try:
        server = op.start("server", PREFECT, "server", "start", "--host", "127.0.0.1",
                          "--port", str(port), "--no-ui")
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{env['PREFECT_API_URL']}/health", timeout=2)
                break
            except OSError:
                assert server.poll() is None, op.log("server")
                assert time.monotonic() < deadline, "no server after 90 s:\n" + op.log("server")
                time.sleep(0.5)
        yield op
    finally:
        op.stop_all()


def test_backfill_deployment_runs_on_a_server_through_a_worker(operator, tmp_path):
    env = operator.env
    settings = Settings(data_dir=Path(env["SHOPCAST_DATA_DIR"]),
                        source_config=Path(env["SHOPCAST_SOURCE_CONFIG"]))
    cfg = load_source_config(settings.source_config)
    generate(SHOP, cfg.landing_path(settings.root), settings.root / "truth")
    days = [SHOP.start_date + timedelta(days=i) for i in range(3)]

    operator.run(PREFECT, "work-pool", "create", "local", "--type", "process")
    deployed = operator.run(PREFECT, "--no-prompt", "deploy", "--all", timeout=180)
    assert "backfill/backfill" in deployed and "daily/daily" in deployed
    worker = operator.start("worker", PREFECT, "worker", "start", "--pool", "local")
    try:
        operator.run(PREFECT, "deployment", "run", "backfill/backfill",
                     "-p", f"start={days[0]}", "-p", f"end={days[-1]}",
                     "--watch", "--watch-interval", "2", "--watch-timeout", "600", timeout=660)
    except AssertionError:
        raise AssertionError("the backfill run did not complete; worker log:\n"
                             + operator.log("worker")) from None
    assert worker.poll() is None  # the worker keeps polling after the run

    with db.reader(settings) as con:
        records = ledger.records(con, days[0], days[-1])
        forecast_days = {d for (d,) in con.execute(
            "SELECT DISTINCT run_date FROM predictions.forecasts").fetchall()}
    assert {d: r.status for d, r in records.items()} == {d: "complete" for d in days}
    assert forecast_days == set(days)
    latest = publish.read_latest(settings.published_dir)
    assert latest["run_date"] == days[-1].isoformat()
    for table in ("forecasts", "recommendations", "daily_summary"):
        assert (publish.partition_dir(settings.published_dir, table, days[-1])
                / "part-0.parquet").exists()
    # the run is the server's: the worker ran the deployment's flow
    assert "Finished in state Completed()" in operator.log("worker")
