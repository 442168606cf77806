"""Where each run date stands: the day ledger in ``ops.day_status``.

A day moves staged -> ingested -> transformed -> complete, or to failed (with the stage and the
reason); an operator may mark a failed day skipped so that later days stop waiting for it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

import duckdb

from domain.text import printable


class DayState(str, Enum):
    staged = "staged"
    ingested = "ingested"
    transformed = "transformed"
    complete = "complete"
    failed = "failed"
    skipped = "skipped"


DONE_STATES = (DayState.complete.value, DayState.skipped.value)


@dataclass(frozen=True)
class DayRecord:
    run_date: date
    status: str
    stage: str | None
    message: str | None
    lines: int | None
    quarantined: int | None


def set_state(
    con: duckdb.DuckDBPyConnection,
    run_date: date,
    state: DayState,
    stage: str | None = None,
    message: str | None = None,
    lines: int | None = None,
    quarantined: int | None = None,
) -> None:
    con.execute(
        """
        INSERT INTO ops.day_status (run_date, status, stage, message, lines, quarantined, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, current_timestamp)
        ON CONFLICT (run_date) DO UPDATE SET
            status = excluded.status, stage = excluded.stage, message = excluded.message,
            lines = coalesce(excluded.lines, ops.day_status.lines),
            quarantined = coalesce(excluded.quarantined, ops.day_status.quarantined),
            updated_at = excluded.updated_at
        """,
        [run_date, state.value, stage, None if message is None else printable(message, 2000),
         lines, quarantined],
    )


def records(
    con: duckdb.DuckDBPyConnection, start: date | None = None, end: date | None = None
) -> dict[date, DayRecord]:
    rows = con.execute(
        """
        SELECT run_date, status, stage, message, lines, quarantined FROM ops.day_status
        WHERE run_date BETWEEN coalesce(?, DATE '0001-01-01') AND coalesce(?, DATE '9999-12-31')
        ORDER BY run_date
        """,
        [start, end],
    ).fetchall()
    return {r[0]: DayRecord(*r) for r in rows}


def first_unresolved_failure(con: duckdb.DuckDBPyConnection, before: date) -> DayRecord | None:
    """The earliest failed (not skipped) day before ``before``: later days wait for it."""
    row = con.execute(
        """
        SELECT run_date, status, stage, message, lines, quarantined FROM ops.day_status
        WHERE status = 'failed' AND run_date < ? ORDER BY run_date LIMIT 1
        """,
        [before],
    ).fetchone()
    return DayRecord(*row) if row else None


def last_done_day(con: duckdb.DuckDBPyConnection) -> date | None:
    row = con.execute(
        "SELECT max(run_date) FROM ops.day_status WHERE status IN ('complete', 'skipped')"
    ).fetchone()
    return row[0] if row else None


def missing_days(con: duckdb.DuckDBPyConnection, first: date, before: date) -> list[date]:
    """Calendar days in [first, before) that are neither complete nor skipped."""
    rows = con.execute(
        """
        SELECT CAST(d AS DATE) FROM range(CAST(? AS DATE), CAST(? AS DATE), INTERVAL 1 DAY) t(d)
        WHERE CAST(d AS DATE) NOT IN (
            SELECT run_date FROM ops.day_status WHERE status IN ('complete', 'skipped'))
        ORDER BY 1
        """,
        [first, before],
    ).fetchall()
    return [r[0] for r in rows]


def first_day(con: duckdb.DuckDBPyConnection) -> date | None:
    row = con.execute("SELECT min(run_date) FROM ops.day_status").fetchone()
    return row[0] if row else None
