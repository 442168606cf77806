"""Order-independent checksums of warehouse tables: equal data gives equal checksums."""
from __future__ import annotations

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
