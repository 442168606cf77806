"""The DuckDB warehouse: one file, one writer at a time, read-only readers.

DuckDB allows one read-write process per file. Writers take an OS file lock first, so a second
writer waits (up to a timeout) instead of failing on DuckDB's own lock. A pipeline run holds a
second lock for its whole length (``run_lock``), so two runs never interleave their days; both
are OS locks on files beside the warehouse: scoped to it, and released when their holder dies.
"""
from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

import duckdb
from filelock import FileLock, Timeout

from domain.errors import NothingYet
from warehouse.tables import (
    PARQUET_COMPRESSION,
    PREDICTION_TABLES,
    ROW_GROUP_ROWS,
    create_table_sql,
)

SCHEMA_SQL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS raw.order_lines (
    run_date DATE NOT NULL,
    source_file VARCHAR NOT NULL,
    line_no BIGINT NOT NULL,
    order_id VARCHAR NOT NULL,
    customer_id VARCHAR,
    item_id VARCHAR NOT NULL,
    item_name VARCHAR,
    category VARCHAR,
    quantity BIGINT NOT NULL,
    unit_price DOUBLE NOT NULL,
    ordered_at TIMESTAMP NOT NULL,
    store VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.quarantine (
    run_date DATE NOT NULL,
    source_file VARCHAR NOT NULL,
    line_no BIGINT NOT NULL,
    rule VARCHAR NOT NULL,
    raw_record VARCHAR
);
CREATE TABLE IF NOT EXISTS raw.catalogue (
    item_id VARCHAR NOT NULL,
    item_name VARCHAR,
    category VARCHAR,
    launch_date DATE,
    list_price DOUBLE
);
CREATE TABLE IF NOT EXISTS ops.ingested_files (
    run_date DATE NOT NULL,
    file_name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    size_bytes BIGINT,
    source_rows BIGINT,
    ingested_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS ops.day_status (
    run_date DATE PRIMARY KEY,
    status VARCHAR NOT NULL,
    stage VARCHAR,
    message VARCHAR,
    lines BIGINT,
    quarantined BIGINT,
    updated_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS ops.day_volumes (
    run_date DATE PRIMARY KEY,
    delivered BIGINT NOT NULL,
    quarantined BIGINT NOT NULL,
    no_customer BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS ops.meta (key VARCHAR PRIMARY KEY, value VARCHAR);
-- the run dates the next dbt invocation builds (warehouse/transform.py writes it, the dbt
-- macros read it), one row
CREATE TABLE IF NOT EXISTS ops.run_window (start_date DATE NOT NULL, end_date DATE NOT NULL);
-- the monitoring's retraining decisions, one per run date and model (requested or not, why,
-- with its numbers as JSON); a request at D makes models trained up to D unusable after D
CREATE TABLE IF NOT EXISTS ops.retrain_decisions (
    run_date DATE NOT NULL,
    model VARCHAR NOT NULL,
    requested BOOLEAN NOT NULL,
    reason VARCHAR NOT NULL,
    numbers VARCHAR,
    PRIMARY KEY (run_date, model)
);
-- the model gate's decisions (models/gate.py): at each retrain date, per model, what serves
-- from then on and why, with the backtest's numbers (the decision as JSON)
CREATE TABLE IF NOT EXISTS ops.model_gate (
    run_date DATE NOT NULL,
    model VARCHAR NOT NULL,
    winner VARCHAR NOT NULL,
    decision VARCHAR NOT NULL,
    PRIMARY KEY (run_date, model)
);
-- what produced each complete day (pipeline/inputs.py): the fingerprint of its inputs and its
-- parts' digests (JSON), so that a rerun with the same inputs is a no-op
CREATE TABLE IF NOT EXISTS ops.day_inputs (
    run_date DATE PRIMARY KEY,
    fingerprint VARCHAR NOT NULL,
    parts VARCHAR NOT NULL
);
-- the monitor stage's drift samples (monitoring/datasets.py): the days of each dataset held in
-- monitoring.sample_<dataset> (tables made by the stage, one per dataset), and the query's
-- fingerprint they were sampled with
CREATE SCHEMA IF NOT EXISTS monitoring;
CREATE TABLE IF NOT EXISTS monitoring.sampled_days (
    dataset VARCHAR NOT NULL,
    day DATE NOT NULL,
    fingerprint VARCHAR NOT NULL,
    PRIMARY KEY (dataset, day)
);
CREATE SCHEMA IF NOT EXISTS predictions;
""" + "\n".join(create_table_sql(n, t) for n, t in PREDICTION_TABLES.items())

class WarehouseSettings(Protocol):
    """What the warehouse needs of the application's settings (composed in pipeline/settings.py)."""
    writer_lock_timeout_s: float
    run_lock_wait_s: float

    @property
    def warehouse_path(self) -> Path: ...
    def ensure_dirs(self) -> None: ...


class WarehouseBusy(RuntimeError):
    pass


class RunInProgress(WarehouseBusy):
    """Another pipeline run holds the warehouse (the message names it)."""


_locks: dict[str, FileLock] = {}


def _lock_for(settings: WarehouseSettings) -> FileLock:
    # one re-entrant lock object per file and process: nested use in one thread does not
    # deadlock, while other threads and processes wait on the OS lock
    path = str(settings.warehouse_path) + ".lock"
    if path not in _locks:
        _locks[path] = FileLock(path)
    return _locks[path]


@contextmanager
def writer_lock(settings: WarehouseSettings) -> Iterator[None]:
    """Exclusive right to write the warehouse (also held while dbt runs)."""
    settings.ensure_dirs()
    lock = _lock_for(settings)
    try:
        lock.acquire(timeout=settings.writer_lock_timeout_s)
    except Timeout:
        raise WarehouseBusy(
            f"another process has held the writer lock on {settings.warehouse_path} for "
            f"{settings.writer_lock_timeout_s:.0f}s"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _run_lock_paths(settings: WarehouseSettings) -> tuple[Path, Path]:
    return (Path(str(settings.warehouse_path) + ".run.lock"),
            Path(str(settings.warehouse_path) + ".run.json"))


def running(settings: WarehouseSettings) -> dict | None:
    """Who holds the run lock (as it wrote when it took it), or None when no run holds it."""
    lock_path, owner_path = _run_lock_paths(settings)
    if not lock_path.exists():
        return None
    probe = FileLock(lock_path)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        try:
            return json.loads(owner_path.read_text())
        except (OSError, ValueError):
            return {"run": "unknown (it has not written its name yet)"}
    probe.release()
    return None


def describe_run(owner: dict) -> str:
    return (f"{owner.get('run', 'a run')} (pid {owner.get('pid', '?')} on {owner.get('host', '?')}, "
            f"started {owner.get('started', '?')}: {owner.get('command', '?')})")


@contextmanager
def run_lock(settings: WarehouseSettings, run: str) -> Iterator[None]:
    """One pipeline run per warehouse at a time. A second run waits up to ``run_lock_wait_s``
    for the first, saying which it waits for, then fails naming it. The OS releases the lock
    when its holder dies, so a killed run leaves nothing to clear by hand."""
    settings.ensure_dirs()
    lock_path, owner_path = _run_lock_paths(settings)
    lock = FileLock(lock_path)  # its own object: a second run in this process waits as well
    try:
        lock.acquire(timeout=0)
    except Timeout:
        other = running(settings) or {}
        logging.getLogger("shopcast").warning(
            "%s waits for the run holding %s: %s", run, settings.warehouse_path, describe_run(other))
        try:
            lock.acquire(timeout=settings.run_lock_wait_s)
        except Timeout:
            other = running(settings) or other
            raise RunInProgress(
                f"{run} did not start: {describe_run(other)} holds {settings.warehouse_path} "
                f"(waited {settings.run_lock_wait_s:.0f}s). It releases the warehouse when it "
                "ends or is stopped."
            ) from None
    keep_reserve(settings)
    try:
        owner_path.write_text(json.dumps({
            "run": run, "pid": os.getpid(), "host": socket.gethostname(),
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:300]}))
        yield
    finally:
        owner_path.unlink(missing_ok=True)
        lock.release()


# Space kept free beside the warehouse for the one write that must succeed on a full disk: the
# ledger row saying why the day failed (a file that is deleted to make room, then recreated).
RESERVE_BYTES = 8 << 20


def _reserve_path(settings: WarehouseSettings) -> Path:
    return Path(str(settings.warehouse_path) + ".reserve")


def keep_reserve(settings: WarehouseSettings) -> None:
    """Recreate the reserve if it is gone and the disk has room for it (best effort)."""
    path = _reserve_path(settings)
    if path.exists():
        return
    try:
        with path.open("wb") as fh:
            os.posix_fallocate(fh.fileno(), 0, RESERVE_BYTES)  # really taken, not a sparse file
    except OSError:
        path.unlink(missing_ok=True)


def disk_full(exc: BaseException) -> bool:
    """Whether an error (the OS's, Arrow's or DuckDB's) says the disk is full."""
    return (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or \
        "No space left on device" in str(exc)


def release_reserve(settings: WarehouseSettings) -> bool:
    """Free the reserve (True if there was one to free)."""
    path = _reserve_path(settings)
    if not path.exists():
        return False
    path.unlink()
    return True


@contextmanager
def writer(settings: WarehouseSettings) -> Iterator[duckdb.DuckDBPyConnection]:
    """The single read-write connection, held only for the duration of the block."""
    with writer_lock(settings):
        con = duckdb.connect(str(settings.warehouse_path))
        try:
            con.execute(SCHEMA_SQL)
            yield con
        finally:
            con.close()


def require_warehouse(settings: WarehouseSettings) -> None:
    if not settings.warehouse_path.exists():
        raise NothingYet(
            f"no warehouse at {settings.warehouse_path}: run a daily or backfill flow first "
            "(or point SHOPCAST_DATA_DIR at the data directory that has one)")


@contextmanager
def reader(settings: WarehouseSettings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection. DuckDB refuses a writer while any reader holds the file, so
    readers take the same lock for as long as they read: keep reads short."""
    require_warehouse(settings)
    lock = contextlib.ExitStack()
    try:
        lock.enter_context(writer_lock(settings))
    except OSError:  # a data directory this user may only read: nobody writes through it here
        pass
    with lock:
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        try:
            yield con
        finally:
            con.close()


def bind_source(con: duckdb.DuckDBPyConnection, source_name: str) -> None:
    """One data directory holds one source's warehouse; mixing two would corrupt both."""
    row = con.execute("SELECT value FROM ops.meta WHERE key = 'source'").fetchone()
    if row is None:
        con.execute("INSERT INTO ops.meta VALUES ('source', ?)", [source_name])
    elif row[0] != source_name:
        raise ValueError(
            f"this data directory holds the warehouse of source {row[0]!r}, not {source_name!r}: "
            "set SHOPCAST_DATA_DIR to another directory for another source"
        )


def copy_to_parquet(con: duckdb.DuckDBPyConnection, query: str, params: list, path: Path) -> None:
    """The rows of ``query`` written by DuckDB as the Parquet file ``path``, in parallel and in
    the query's order (compression and row groups as ``tables.write_parquet``)."""
    target = str(path).replace("'", "''")
    con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet, COMPRESSION "
                f"{PARQUET_COMPRESSION}, ROW_GROUP_SIZE {ROW_GROUP_ROWS})", params)


def replace_days(settings: WarehouseSettings, table: str, days: Iterable, per_transaction: int = 31) -> None:
    """Replace the rows of run dates in a predictions table by new ones: ``days`` yields
    (run_date, pyarrow table with the table's columns) pairs, stored ``per_transaction`` days
    per transaction (opening the writer costs more than a day's rows)."""
    batch = []
    for day in days:
        batch.append(day)
        if len(batch) == per_transaction:
            _replace(settings, table, batch)
            batch = []
    if batch:
        _replace(settings, table, batch)


def _replace(settings: WarehouseSettings, table: str, days: list) -> None:
    import pyarrow as pa

    with writer(settings) as con:
        con.execute("BEGIN")
        con.execute(f"DELETE FROM {table} WHERE list_contains(?, run_date)", [[d for d, _ in days]])
        # a day built as one chunk (a 1M-line shop's lists are 4M rows) would insert on one
        # core: DuckDB scans an Arrow table one chunk per thread
        joined = pa.concat_tables([t for _, t in days])
        new_rows = pa.Table.from_batches(  # noqa: F841 (read by DuckDB)
            joined.to_batches(max_chunksize=ROW_GROUP_ROWS), schema=joined.schema)
        con.execute(f"INSERT INTO {table} SELECT * FROM new_rows")
        con.execute("COMMIT")
