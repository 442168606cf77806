"""Order-independent checksums of warehouse tables: equal data gives equal checksums."""
from __future__ import annotations

from pathlib import Path

import duckdb

MARTS_SCHEMA = "marts"


def table_checksum(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, str]:
    """(row count, md5 over the sorted text of every row)."""
    rows, digest = con.execute(
        f"SELECT count(*), md5(coalesce(string_agg(r, '\n' ORDER BY r), '')) "
        f"FROM (SELECT CAST(t AS VARCHAR) AS r FROM {table} AS t)"
    ).fetchone()
    return rows, digest


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
    out = {}
    for table in sorted(p.name for p in published.iterdir() if p.is_dir() and not p.name.startswith("_")):
        files = sorted(str(f) for f in (published / table).glob("run_date=*/part-*.parquet"))
        if not files:
            continue
        con = duckdb.connect()
        try:
            con.execute("SET enable_progress_bar = false")
            rows, total = con.execute(
                f"SELECT count(*), sum(hash(t)::HUGEINT) FROM read_parquet({files!r}) AS t").fetchone()
            out[table] = (rows, format(int(total or 0) % 2**128, "032x"))
        finally:
            con.close()
    return out
