"""Shared fixtures: an isolated data directory per test, tiny sources, a small synthetic shop."""
from __future__ import annotations

import os
import textwrap
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from domain.paths import REPO_ROOT
from pipeline.settings import Settings
from sources.config import load_source_config

def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` are skipped where this process sees no CUDA GPU (CI has none)."""
    gpu_tests = [item for item in items if item.get_closest_marker("gpu")]
    if gpu_tests:
        import torch  # only when such a test is collected: torch takes seconds to import

        if not torch.cuda.is_available():
            for item in gpu_tests:
                item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))


ONLINE_RETAIL_DIR = Path(
    os.environ.get("SHOPCAST_ONLINE_RETAIL_DIR", REPO_ROOT.parent / "shared/data/online_retail/by-day")
)

TINY_MAPPING = """
name: tiny
landing_dir: {landing}
file_pattern: "sales_{{date}}*.csv"
columns:
  order_id: Invoice
  item_id: Sku
  item_name: Name
  quantity: Qty
  unit_price: Price
  ordered_at: At
  customer_id: Customer
  store: Country
timestamp:
  format: "%Y-%m-%dT%H:%M:%SZ"
  timezone: UTC
business_timezone: Europe/Berlin
strip_float_suffix: [customer_id]
rules:
  cancellation: "starts_with(order_id, 'C') OR quantity < 0"
  product: "regexp_full_match(item_id, '[0-9]{{5}}[A-Za-z]*')"
calendar: {calendar}
"""

TINY_HEADER = "Invoice,Sku,Name,Qty,Price,At,Customer,Country\n"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("SHOPCAST_DATA_DIR", str(d))
    return d


def write_tiny_source(root: Path, calendar: str = "daily") -> Path:
    landing = root / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    path = root / "tiny.yaml"
    path.write_text(textwrap.dedent(TINY_MAPPING.format(landing=landing, calendar=calendar)))
    return path


@pytest.fixture
def tiny_source(tmp_path, data_dir, monkeypatch):
    """A CSV source with its own column names; returns (config, landing folder)."""
    path = write_tiny_source(tmp_path)
    monkeypatch.setenv("SHOPCAST_SOURCE_CONFIG", str(path))
    cfg = load_source_config(path)
    return cfg, cfg.landing_path(data_dir)


def write_day(landing: Path, day: date, rows: list[str], suffix: str = "") -> Path:
    path = landing / f"sales_{day.isoformat()}{suffix}.csv"
    path.write_text(TINY_HEADER + "".join(r + "\n" for r in rows))
    return path


def run_stages(settings, days, until: str = "monitor", only: tuple[str, ...] = ()):
    """Run dates through the pipeline's own list of stages (pipeline/definition.py), up to
    ``until`` or only the stages named, without the blocking check of a flow; returns the
    RunOutcome (``outcome.windows[-1]`` is the last window as the last stage left it)."""
    from pipeline.context import RunContext
    from pipeline.definition import RunOutcome, run_windows, stages_named, stages_until

    ctx = RunContext.build(settings)
    pipeline = stages_named(*only) if only else stages_until(until)
    return run_windows(ctx, RunOutcome(sorted(days)), pipeline)


def promote_tiny_days(settings, landing: Path, rows_by_day: dict):
    """Write each day's rows to the tiny source and run them through ingest, gate, promote."""
    for d, rows in rows_by_day.items():
        write_day(landing, d, rows)
    outcome = run_stages(settings, list(rows_by_day), until="promote")
    assert outcome.stop is None, outcome.stop
    return outcome


@contextmanager
def tiny_environment(root: Path, calendar: str = "daily"):
    """Settings and mapping of the tiny source under ``root``, for module-scoped fixtures
    (function-scoped tests use the ``tiny_source`` and ``settings`` fixtures)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHOPCAST_DATA_DIR", str(root / "data"))
        mp.setenv("SHOPCAST_SOURCE_CONFIG", str(write_tiny_source(root, calendar)))
        settings = Settings()
        cfg = load_source_config(settings.source_config)
        yield settings, cfg, cfg.landing_path(settings.root)


@pytest.fixture
def settings(data_dir) -> Settings:
    return Settings()


def history_starts(request, first_day: date) -> None:
    """For tests whose stages are stand-ins: the tiny source's history starts on ``first_day``
    (one empty file), since run dates before a source's first file are refused."""
    if "tiny_source" in request.fixturenames or "ctx" in request.fixturenames:
        write_day(request.getfixturevalue("tiny_source")[1], first_day, [])


@pytest.fixture
def ctx(tiny_source, settings):
    """The run context of the tiny source (what every stage is handed)."""
    from pipeline.context import RunContext

    return RunContext.build(settings)


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (it takes seconds to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def online_retail_dir() -> Path:
    if not ONLINE_RETAIL_DIR.is_dir():
        pytest.skip(f"Online Retail files not found at {ONLINE_RETAIL_DIR} "
                    "(set SHOPCAST_ONLINE_RETAIL_DIR)")
    return ONLINE_RETAIL_DIR


@pytest.fixture
def webhook():
    """A webhook receiver on 127.0.0.1 (a thread of this process): its URL, and the JSON
    bodies it has received, in order."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the handler's name is http.server's
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()
