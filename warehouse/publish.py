"""Atomic, versioned publishing of per-run-date Parquet partitions.

Consumers read ``published/<table>/run_date=YYYY-MM-DD/`` and ``published/latest.json``. A new
version is written completely beside the live one and swapped in by directory renames; the
version it replaces is archived with its manifest (``published/_archive``), keeping the newest
``retention`` versions. Nothing half-written is ever visible under the live path.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

LATEST = "latest.json"


def partition_dir(published: Path, table: str, run_date: date) -> Path:
    return published / table / f"run_date={run_date.isoformat()}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish_partition(
    published: Path,
    table: str,
    run_date: date,
    data: pa.Table,
    retention: int = 5,
    extra: dict | None = None,
) -> dict:
    """Write ``data`` as the partition of ``run_date``; return its manifest."""
    final = partition_dir(published, table, run_date)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".staging-{run_date.isoformat()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        part = staging / "part-0.parquet"
        pq.write_table(data, part, compression="zstd")
        manifest = {
            "table": table,
            "run_date": run_date.isoformat(),
            "rows": data.num_rows,
            "columns": data.schema.names,
            "files": {part.name: _sha256(part)},
            "published_at": datetime.now(timezone.utc).isoformat(),
            "version": uuid.uuid4().hex,
            **(extra or {}),
        }
        (staging / "_manifest.json").write_text(json.dumps(manifest, indent=2))
        if final.exists():
            archive = published / "_archive" / table / final.name / _version_name(final)
            archive.parent.mkdir(parents=True, exist_ok=True)
            os.rename(final, archive)
            _prune(archive.parent, retention)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _version_name(partition: Path) -> str:
    try:
        return json.loads((partition / "_manifest.json").read_text())["published_at"].replace(":", "")
    except (OSError, ValueError, KeyError):
        return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")


def _prune(versions: Path, retention: int) -> None:
    for old in sorted(versions.iterdir())[: max(0, len(list(versions.iterdir())) - retention)]:
        shutil.rmtree(old, ignore_errors=True)


def update_latest(published: Path, run_date: date, manifests: dict[str, dict]) -> bool:
    """Point latest.json at ``run_date`` unless a later run date is already published."""
    path = published / LATEST
    current = read_latest(published)
    if current and date.fromisoformat(current["run_date"]) > run_date:
        return False
    body = {
        "run_date": run_date.isoformat(),
        "updated_at": datetime.now(timezone.utc).isoformat(),
        "tables": {
            name: {
                "path": str(partition_dir(published, name, run_date).relative_to(published)),
                "rows": m["rows"],
                "version": m["version"],
            }
            for name, m in manifests.items()
        },
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, indent=2))
    os.replace(tmp, path)
    return True


def read_latest(published: Path) -> dict | None:
    path = published / LATEST
    return json.loads(path.read_text()) if path.exists() else None
