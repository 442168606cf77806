"""Order-independent checksums of warehouse tables: equal data gives equal checksums."""
from __future__ import annotations

from pathlib import Path

import duckdb

from domain.errors import NothingYet

MARTS_SCHEMA = "marts"


def table_checksum(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, str]:
    """(row count, a sum of row hashes): order-independent, and one pass over a table of tens of
    millions of rows (a sorted digest of the year's order lines took minutes)."""
    return rows_and_hash_sum(con, table)


def rows_and_hash_sum(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, str]:
    rows, total = con.execute(
        f"SELECT count(*), sum(hash(t)::HUGEINT) FROM {relation} AS t").fetchone()
    return rows, format(int(total or 0) % 2**128, "032x")


def mart_checksums(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, str]]:
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY 1", [MARTS_SCHEMA]
    ).fetchall()]
    return {t: table_checksum(con, f"{MARTS_SCHEMA}.{t}") for t in tables}


def published_checksums(published: Path) -> dict[str, tuple[int, str]]:
    """Per published table, (rows, a sum of row hashes) over every live partition: two runs that
    published the same rows give the same checksums whatever the file bytes (Parquet metadata,
    row groups) look like. A sum, not a sorted digest: the forecasts of a year are millions of
    rows."""
    if not published.is_dir():
        raise NothingYet(f"nothing published at {published}: run a daily or backfill flow first "
                         "(or point SHOPCAST_DATA_DIR at the data directory that has it)")
    out = {}
    for table in sorted(p.name for p in published.iterdir() if p.is_dir() and not p.name.startswith("_")):
        files = sorted(str(f) for f in (published / table).glob("run_date=*/part-*.parquet"))
        if not files:
            continue
        con = duckdb.connect()
        try:
            con.execute("SET enable_progress_bar = false")
            out[table] = rows_and_hash_sum(con, f"read_parquet({files!r})")
        finally:
            con.close()
    return out
