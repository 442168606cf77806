"""Atomic, versioned publishing of a run date's tables.

Consumers read ``published/<table>/run_date=YYYY-MM-DD/`` and ``published/latest.json``. A day
is published as one unit: every table of the new version is written completely under
``published/_versions/run_date=D/<version>/``, then one symbolic link, ``published/_days/
run_date=D``, is swapped to it (a rename: atomic). Each table's partition is a fixed link
through that one (``<table>/run_date=D -> ../_days/run_date=D/<table>``), so all of the day's
tables change together, and a partition that the live version lacks is a dangling link that no
reader lists. ``latest.json`` is itself a link to the latest day's ``_day.json`` (through the
same day link), so it can name neither a missing nor a superseded version. The versions a
rerun replaces stay beside the live one (``retention`` of them) with their manifests.

Readers that follow links (DuckDB, Arrow, Python's glob) see the usual hive layout.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from domain.digests import file_sha256
from warehouse.tables import write_parquet

# a table's rows: in memory, or a writer of the Parquet file at the path it is given (a
# large table goes from the warehouse to its file without passing through this process)
Rows = pa.Table | Callable[[Path], None]

LATEST = "latest.json"
DAY_MANIFEST = "_day.json"
VERSIONS = "_versions"
DAYS = "_days"


def partition_dir(published: Path, table: str, run_date: date) -> Path:
    return published / table / _day_name(run_date)


def _day_name(run_date: date) -> str:
    return f"run_date={run_date.isoformat()}"


def day_link(published: Path, run_date: date) -> Path:
    """The one link whose target is the live version of ``run_date``."""
    return published / DAYS / _day_name(run_date)


def publish_day(
    published: Path,
    run_date: date,
    tables: dict[str, tuple[Rows, dict]],
    retention: int = 5,
) -> dict[str, dict]:
    """Write ``tables`` (name -> (data, extra manifest fields)) as the new version of
    ``run_date`` and make it live in one step; move ``latest.json`` to it unless a later run
    date is published. Returns each table's manifest."""
    published_at = datetime.now(timezone.utc)
    version = f"{published_at.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}"
    versions = published / VERSIONS / _day_name(run_date)
    versions.mkdir(parents=True, exist_ok=True)
    staging = versions / f".staging-{version}"
    staging.mkdir()
    try:
        manifests = {name: _write_table(staging / name, name, run_date, data, version,
                                        published_at, extra)
                     for name, (data, extra) in tables.items()}
        day = {"run_date": run_date.isoformat(), "version": version,
               "updated_at": published_at.isoformat(),
               "tables": {name: {"path": f"{name}/{_day_name(run_date)}", "rows": m["rows"],
                                 "version": version} for name, m in manifests.items()}}
        _write_synced(staging / DAY_MANIFEST, json.dumps(day, indent=2))
        os.rename(staging, versions / version)  # complete, not yet live
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for name in tables:
        _ensure_partition_link(published, name, run_date)
    _swap_link(day_link(published, run_date), Path("..") / VERSIONS / _day_name(run_date) / version)
    current = read_latest(published)
    if current is None or date.fromisoformat(current["run_date"]) <= run_date:
        _swap_link(published / LATEST, Path(DAYS) / _day_name(run_date) / DAY_MANIFEST)
    _prune(versions, keep=version, retention=retention)
    return manifests


def _write_table(folder: Path, table: str, run_date: date, data: Rows, version: str,
                 published_at: datetime, extra: dict) -> dict:
    folder.mkdir()
    part = folder / "part-0.parquet"
    if isinstance(data, pa.Table):
        write_parquet(data, part)
    else:
        data(part)
    _fsync(part)
    written = pq.read_metadata(part)
    manifest = {"table": table, "run_date": run_date.isoformat(), "rows": written.num_rows,
                "columns": written.schema.to_arrow_schema().names,
                "files": {part.name: file_sha256(part)},
                "published_at": published_at.isoformat(), "version": version, **extra}
    _write_synced(folder / "_manifest.json", json.dumps(manifest, indent=2))
    return manifest


def _write_synced(path: Path, text: str) -> None:
    path.write_text(text)
    _fsync(path)


def _fsync(path: Path) -> None:
    # the rename that makes a version live must not reach the disk before its files do
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` in one rename (a reader sees the old or the new target)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    fresh = link.parent / f".{link.name}.{uuid.uuid4().hex[:8]}"
    os.symlink(target, fresh)
    try:
        os.replace(fresh, link)
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise


def _ensure_partition_link(published: Path, table: str, run_date: date) -> None:
    """``<table>/run_date=D`` as a link through the day link (made once; it dangles, so that no
    reader lists it, until the day has a live version holding the table)."""
    link = partition_dir(published, table, run_date)
    target = Path("..") / DAYS / _day_name(run_date) / table
    if link.is_symlink():
        return
    if link.exists():  # a real folder, published before versions were days: kept as a version
        legacy = published / VERSIONS / _day_name(run_date) / f"00000000-legacy-{uuid.uuid4().hex[:8]}"
        (legacy).mkdir(parents=True, exist_ok=True)
        os.rename(link, legacy / table)
    _swap_link(link, target)


def _prune(versions: Path, keep: str, retention: int) -> None:
    """Versions of a day beyond the newest ``retention`` older ones (never the live one), and
    what a crash left half-written."""
    older = sorted(p for p in versions.iterdir() if p.name != keep and not p.name.startswith("."))
    for old in older[: max(0, len(older) - retention)]:
        shutil.rmtree(old, ignore_errors=True)
    for leftover in versions.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def read_latest(published: Path) -> dict | None:
    """The latest day's manifest (run_date, version, its tables), or None before the first."""
    path = published / LATEST
    return json.loads(path.read_text()) if path.exists() else None


def live_version(published: Path, run_date: date) -> str | None:
    """The version of ``run_date`` that readers see now."""
    path = day_link(published, run_date) / DAY_MANIFEST
    return json.loads(path.read_text())["version"] if path.exists() else None
