"""The incoming area and the raw tables.

A day's files are first written to ``incoming/run_date=D/`` (Parquet plus a manifest). Only after
the day has passed its checks does ``promote`` replace D in the raw tables, in one transaction: a
bad re-delivery never overwrites good rows, and re-running a day replaces it, never duplicates it.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from sources.landing import DayBatch
from warehouse.tables import write_parquet


@dataclass(frozen=True)
class IncomingDay:
    """What ``stage`` leaves in the incoming area for one run date (paths, not data)."""

    run_date: date
    directory: Path
    lines: int
    quarantined: int
    quarantine_counts: dict[str, int]
    files: list[dict]
    has_catalogue: bool
    no_customer: int = 0  # lines without a customer, for the gate's trailing comparison

    @property
    def delivered(self) -> int:
        return self.lines + self.quarantined

    @property
    def lines_path(self) -> Path:
        return self.directory / "lines.parquet"

    @property
    def quarantine_path(self) -> Path:
        return self.directory / "quarantine.parquet"

    @property
    def catalogue_path(self) -> Path:
        return self.directory / "catalogue.parquet"

    def to_json(self) -> dict:
        d = asdict(self)
        d["run_date"] = self.run_date.isoformat()
        d["directory"] = str(self.directory)
        return d

    @classmethod
    def load(cls, directory: Path) -> "IncomingDay":
        d = json.loads((directory / "manifest.json").read_text())
        d["run_date"] = date.fromisoformat(d["run_date"])
        d["directory"] = Path(d["directory"])
        return cls(**d)


def incoming_dir(root: Path, run_date: date) -> Path:
    return root / f"run_date={run_date.isoformat()}"


def stage(batch: DayBatch, catalogue: pa.Table | None, root: Path) -> IncomingDay:
    """Write a day's batch to the incoming area, replacing any earlier staging of that day."""
    final = incoming_dir(root, batch.run_date)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write_parquet(batch.lines, tmp / "lines.parquet")
    write_parquet(batch.quarantine, tmp / "quarantine.parquet")
    if catalogue is not None:
        write_parquet(catalogue, tmp / "catalogue.parquet")
    day = IncomingDay(
        run_date=batch.run_date,
        directory=final,
        lines=batch.lines.num_rows,
        quarantined=batch.quarantine.num_rows,
        quarantine_counts=batch.quarantine_counts,
        files=[
            {"name": f.path.name, "sha256": f.sha256, "size_bytes": f.size_bytes, "rows": f.rows}
            for f in batch.files
        ],
        has_catalogue=catalogue is not None,
        no_customer=batch.lines["customer_id"].null_count,
    )
    (tmp / "manifest.json").write_text(json.dumps(day.to_json(), indent=2))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    return day


def promote(con: duckdb.DuckDBPyConnection, days: list[IncomingDay]) -> None:
    """Replace each of ``days`` in the raw tables with its staged batch, in one transaction.

    A backfill promotes many days per transaction (one bulk read of their Parquet files instead
    of a transaction per day); either all of them are replaced or none.
    """
    if not days:
        return
    dates = sorted(d.run_date for d in days)
    # the BETWEEN lets DuckDB skip row groups by their min/max run_date
    where = "run_date BETWEEN ? AND ? AND list_contains(?, run_date)"
    params = [dates[0], dates[-1], dates]
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("raw.order_lines", "raw.quarantine", "ops.ingested_files", "ops.day_volumes"):
            con.execute(f"DELETE FROM {table} WHERE {where}", params)
        for table, paths in (("raw.order_lines", [str(d.lines_path) for d in days]),
                             ("raw.quarantine", [str(d.quarantine_path) for d in days])):
            con.execute(
                f"INSERT INTO {table} SELECT * FROM read_parquet(?, hive_partitioning = false)",
                [paths],
            )
        files = [(d.run_date, f["name"], f["sha256"], f["size_bytes"], f["rows"])
                 for d in days for f in d.files]
        if files:
            con.executemany(
                "INSERT INTO ops.ingested_files (run_date, file_name, sha256, size_bytes, source_rows)"
                " VALUES (?, ?, ?, ?, ?)", files,
            )
        con.executemany(
            "INSERT INTO ops.day_volumes VALUES (?, ?, ?, ?)",
            [(d.run_date, d.delivered, d.quarantined, d.no_customer) for d in days],
        )
        with_catalogue = [d for d in days if d.has_catalogue]
        if with_catalogue:
            # the catalogue is a snapshot of the whole assortment; launch dates keep it
            # point-in-time (an item is listed from its launch date on)
            latest = max(with_catalogue, key=lambda d: d.run_date)
            con.execute("DELETE FROM raw.catalogue")
            con.execute(
                "INSERT INTO raw.catalogue SELECT * FROM read_parquet(?, hive_partitioning = false)",
                [str(latest.catalogue_path)],
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
