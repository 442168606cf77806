"""Every broken delivery in tests/fixtures/broken has its documented outcome, and nothing that
was already in the warehouse or published changes (same checksums)."""
from __future__ import annotations

import hashlib
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipeline.settings import Settings
from tests.conftest import run_stages, tiny_environment, write_day
from warehouse import db
from warehouse.checksums import mart_checksums, table_checksum

pytestmark = pytest.mark.dbt  # runs dbt: not in the fast tier

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "broken"
HISTORY = [date(2025, 3, 1) + timedelta(days=i) for i in range(28)]
DAY = date(2025, 3, 29)


def _good_rows(day: date, n: int = 40) -> list[str]:
    return [f"{day:%m%d}{i // 3},{10001 + (i * 7) % 25},ITEM,{1 + i % 5},2.50,"
            f"{day.isoformat()}T{8 + i % 9:02d}:{i % 60:02d}:00Z,{100 + i % 30}.0,DE" for i in range(n)]


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """28 good days ingested, transformed and published: what a broken delivery must not touch."""
    with tiny_environment(tmp_path_factory.mktemp("broken")) as (settings, cfg, landing):
        for d in HISTORY:
            write_day(landing, d, _good_rows(d, 36 + d.day % 9))
        outcome = run_stages(settings, HISTORY)
        assert outcome.stop is None and outcome.done == HISTORY
        yield settings, cfg, landing


def _snapshot(settings: Settings) -> dict:
    with db.reader(settings) as con:
        state = {"raw": table_checksum(con, "raw.order_lines"),
                 "quarantine": table_checksum(con, "raw.quarantine"), **mart_checksums(con)}
    for p in sorted(settings.published_dir.rglob("*.parquet")):
        state[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return state


def _deliver(case: str, landing: Path) -> list[Path]:
    for old in landing.glob(f"sales_{DAY.isoformat()}*"):
        old.unlink()
    copied = []
    for f in sorted((CORPUS / case).iterdir()):
        copied.append(Path(shutil.copy(f, landing / f.name)))
    return copied


def _run_day(settings):
    """Every stage of the daily flow, without Prefect: (the outcome, the last window)."""
    outcome = run_stages(settings, [DAY])
    return outcome, outcome.windows[-1]


FAILS_TO_READ = {
    "missing_column": "unit_price <- 'Price'",
    "renamed_column": "ordered_at <- 'At'",
    "empty_file": "empty",
    "truncated_csv": "the file looks truncated",
    "non_utf8": "cannot be read",
}
FAILS_THE_GATE = {  # case: (the expectation named, the threshold that sets it, if one does)
    "wrong_types": ("bad_row_share", "raw.max_bad_row_share"),
    "future_dates": ("bad_row_share", "raw.max_bad_row_share"),
    "volume_10x": ("volume_ratio", "raw.volume_max_ratio"),
    "all_without_customer": ("no_customer_share", "raw.max_no_customer_share"),
    "same_file_twice": ("duplicate_files", None),
}


@pytest.mark.parametrize("case, expected", sorted(FAILS_TO_READ.items()))
def test_unreadable_deliveries_fail_the_day_naming_the_file(history, case, expected):
    settings, cfg, landing = history
    before = _snapshot(settings)
    files = _deliver(case, landing)
    outcome, _ = _run_day(settings)
    assert (outcome.failed_stage, outcome.stop.run_date, outcome.done) == ("ingest", DAY, [])
    assert re.search(expected, str(outcome.stop.error)) and str(files[0]) in str(outcome.stop.error)
    assert _snapshot(settings) == before


@pytest.mark.parametrize("case, expected", sorted(FAILS_THE_GATE.items()))
def test_batch_defects_fail_the_gate_with_expectations_and_data_docs(history, case, expected):
    settings, cfg, landing = history
    before = _snapshot(settings)
    files = _deliver(case, landing)
    outcome, window = _run_day(settings)
    assert (outcome.failed_stage, outcome.stop.run_date, outcome.done) == ("gate", DAY, [])
    verdict, message = window.verdicts[DAY], str(outcome.stop.error)
    assert not verdict.passed
    expectation, threshold = expected
    assert expectation in message and files[0].name in message
    assert all(p.exists() for p in verdict.docs_pages) and "Data Docs" in message
    # where a shop is simply like that, the operator is told which value to change, and where
    if threshold:
        assert f"{threshold}" in message and f"Thresholds: {settings.quality_config}" in message
    else:
        assert "Thresholds:" not in message
    assert _snapshot(settings) == before


def test_row_level_defects_are_quarantined_and_the_day_passes(history):
    settings, cfg, landing = history
    _deliver("negative_prices", landing)
    outcome, window = _run_day(settings)
    assert outcome.stop is None and outcome.done == [DAY]
    incoming = window.incoming[DAY]
    assert incoming.quarantine_counts == {"negative_price": 1} and incoming.lines == 39
