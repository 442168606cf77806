"""Faults of the machine rather than the data: a full disk. (Kills: tests/flows/test_kill.py;
a read-only data directory: tests/flows/test_cli.py; corrupt model artifacts:
tests/models/test_registry.py.)"""
from __future__ import annotations

import subprocess
from datetime import date, timedelta

import pytest

from tests.conftest import run_stages, tiny_environment, write_day
from warehouse import db, ledger, publish
from warehouse.checksums import published_checksums

D = date(2025, 3, 1)
ROWS = [f"{i},1000{i % 5},ITEM,{1 + i % 3},2.50,2025-03-01T1{i % 10}:00:00Z,{i % 7},DE"
        for i in range(40)]


@pytest.fixture
def small_disk(tmp_path):
    """A 96 MB tmpfs (needs root, as CI has)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk) -> None:
    with (disk / "filler").open("wb") as fh:
        try:
            while True:
                fh.write(b"\0" * (1 << 20))
                fh.flush()
        except OSError:
            pass


def test_a_full_disk_fails_the_day_naming_the_path_records_why_and_publishes_nothing(small_disk):
    with tiny_environment(small_disk) as (settings, cfg, landing):
        day2 = D + timedelta(days=1)
        write_day(landing, D, ROWS)
        write_day(landing, day2, [r.replace("2025-03-01", "2025-03-02") for r in ROWS])
        outcome = run_stages(settings, [D], until="publish")
        assert outcome.stop is None, outcome.stop
        db.keep_reserve(settings)  # as every run's start does
        before = published_checksums(settings.published_dir), publish.read_latest(settings.published_dir)

        fill(small_disk)
        outcome = run_stages(settings, [day2], until="publish")
        assert outcome.stop is not None and outcome.stop.run_date == day2
        message = str(outcome.stop.error)
        assert "No space left on device" in message and str(small_disk) in message, message
        with db.reader(settings) as con:
            record = ledger.records(con, day2, day2)[day2]
        assert record.status == "failed" and "No space left on device" in record.message
        after = published_checksums(settings.published_dir), publish.read_latest(settings.published_dir)
        assert after == before

        (small_disk / "filler").unlink()  # the operator frees space and runs the day again
        outcome = run_stages(settings, [day2], until="publish")
        assert outcome.stop is None, outcome.stop
        assert publish.read_latest(settings.published_dir)["run_date"] == day2.isoformat()
