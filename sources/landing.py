"""Read one run date's files from a landing folder into canonical order lines.

Pure functions: they read the source files and return Arrow tables (good lines and quarantined
lines); writing them anywhere is the caller's business.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from domain.digests import file_sha256
from domain.text import excerpt, printable
from sources.config import SourceConfig
from sources.expressions import quoted, sandbox

# Canonical order-line columns with their warehouse types (docs/order_lines.md).
ORDER_LINE_SCHEMA = pa.schema([
    ("run_date", pa.date32()),
    ("source_file", pa.string()),
    ("line_no", pa.int64()),
    ("order_id", pa.string()),
    ("customer_id", pa.string()),
    ("item_id", pa.string()),
    ("item_name", pa.string()),
    ("category", pa.string()),
    ("quantity", pa.int64()),
    ("unit_price", pa.float64()),
    ("ordered_at", pa.timestamp("us")),
    ("store", pa.string()),
])

QUARANTINE_SCHEMA = pa.schema([
    ("run_date", pa.date32()),
    ("source_file", pa.string()),
    ("line_no", pa.int64()),
    ("rule", pa.string()),
    ("raw_record", pa.string()),
])

# Row-level rules, first match wins; each names the defect a reviewer sees in the counts.
ROW_RULES = (
    ("missing_order_id", "order_id IS NULL"),
    ("missing_item_id", "item_id IS NULL"),
    # NaN and infinity parse as doubles ('NaN', '1e309') and NaN equals its floor in DuckDB; a
    # whole number past 2**53 is not a count anyone sold (and would not fit the 64-bit column)
    ("bad_quantity", "quantity_num IS NULL OR NOT isfinite(quantity_num) "
                     "OR quantity_num <> floor(quantity_num) OR abs(quantity_num) > 9007199254740992"),
    ("bad_price", "unit_price IS NULL OR NOT isfinite(unit_price)"),
    ("negative_price", "unit_price < 0"),
    ("bad_timestamp", "ordered_at IS NULL"),
    ("outside_run_date", "CAST(ordered_at AS DATE) <> run_date"),
)


class SourceFileError(ValueError):
    """A file that cannot be read at all: the message names the file and what is wrong."""


@dataclass
class SourceFile:
    path: Path
    sha256: str
    size_bytes: int
    rows: int


@dataclass
class DayBatch:
    run_date: date
    files: list[SourceFile]
    lines: pa.Table
    quarantine: pa.Table

    @property
    def quarantine_counts(self) -> dict[str, int]:
        if self.quarantine.num_rows == 0:
            return {}
        counts = self.quarantine.group_by("rule").aggregate([("rule", "count")])
        return dict(zip(counts["rule"].to_pylist(), counts["rule_count"].to_pylist()))


def read_raw_file(path: Path, cfg: SourceConfig) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Every column as text, plus ``line_no``: the 1-based data row in the file; and the rows
    that do not split into the header's columns, as (line_no, text), to be quarantined."""
    malformed: list = []
    if path.resolve().parent != path.parent.resolve():
        raise SourceFileError(f"{path}: refused, a link to {path.resolve()} outside the landing "
                              "folder")
    try:
        if cfg.file_format(path) == "parquet":
            table = pq.read_table(path)
            table = pa.table({n: table[n].cast(pa.string()) for n in table.column_names})
        else:
            if path.stat().st_size == 0:
                raise SourceFileError(f"{path}: the file is empty (0 bytes, not even a header)")
            names = _csv_header(path, cfg)
            try:
                table = _read_csv(path, cfg, names)
            except pa.ArrowInvalid as exc:
                if "columns, got" not in str(exc):
                    raise
                # rare: read again on one thread, where Arrow numbers the rows it sets aside
                table = _read_csv(path, cfg, names, malformed)
                if malformed and _ends_mid_row(path, malformed[-1][0], table.num_rows + len(malformed)):
                    raise SourceFileError(
                        f"{path}: row {malformed[-1][0]} ends the file without a line break and "
                        f"with too few or too many columns: the file looks truncated "
                        f"({excerpt(malformed[-1][1][-40:])})") from exc
    except SourceFileError:
        raise
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
        raise SourceFileError(
            f"{path}: cannot be read as {cfg.file_format(path)}: {_reason(exc)}") from exc
    rows = np.arange(1, table.num_rows + len(malformed) + 1)
    if malformed:
        rows = rows[~np.isin(rows, [line for line, _ in malformed])]
    return table.append_column("line_no", pa.array(rows, pa.int64())), malformed


def _ends_mid_row(path: Path, line: int, rows: int) -> bool:
    """Whether the malformed row at ``line`` is the file's last and lacks its line break: a
    delivery cut short, not a bad row to set aside."""
    with path.open("rb") as fh:
        fh.seek(max(0, path.stat().st_size - 1))
        return line == rows and fh.read(1) not in (b"\n", b"\r")


def _reason(exc: Exception) -> str:
    """A reader's error, with the row it quotes cut to a short, escaped excerpt."""
    head, quoted, row = str(exc).partition(" columns, got ")
    if quoted:
        count, _, text = row.partition(": ")
        return f"{printable(head, 80)}{quoted}{count}: {excerpt(text)}"
    return printable(str(exc), 160)


def _read_csv(path: Path, cfg: SourceConfig, names: list[str], malformed: list | None = None):
    def set_aside(row) -> str:
        # Arrow's number is the physical line (the header is line 1); line_no counts data rows
        malformed.append((row.number - 1, row.text))
        return "skip"

    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(encoding=cfg.csv.encoding, use_threads=malformed is None),
        parse_options=pacsv.ParseOptions(
            delimiter=cfg.csv.delimiter, quote_char=cfg.csv.quote,
            invalid_row_handler=None if malformed is None else set_aside),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names}, strings_can_be_null=False),
    )


def _csv_header(path: Path, cfg: SourceConfig) -> list[str]:
    with path.open("rb") as fh:
        first = fh.readline()
    header = pacsv.read_csv(
        pa.py_buffer(first),
        read_options=pacsv.ReadOptions(encoding=cfg.csv.encoding),
        parse_options=pacsv.ParseOptions(delimiter=cfg.csv.delimiter, quote_char=cfg.csv.quote),
    )
    return header.column_names


TRIMMED = "__trimmed__"  # prefix of the space-trimmed copies ``with_trimmed_columns`` adds


def with_trimmed_columns(src: pa.Table, cfg: SourceConfig) -> pa.Table:
    """``src`` plus a copy of each column mapped as is (not through an expression), trimmed of
    spaces as ``trim()`` does, for ``normalise_sql(..., pretrimmed=True)``: Arrow trims a 1M-line
    day's text columns in 0.1 s, DuckDB's ``trim()`` took 0.45 s of its normalisation."""
    plain = sorted({s.column for s in cfg.columns.values()
                    if s.sql is None and s.column in src.column_names})
    for column in plain:
        src = src.append_column(TRIMMED + column, pc.utf8_trim(src[column], characters=" "))
    return src


def normalise_sql(
    cfg: SourceConfig,
    source_columns: list[str],
    run_date_sql: str = "CAST($run_date AS DATE)",
    source_file_sql: str = "CAST($source_file AS VARCHAR)",
    pretrimmed: bool = False,
) -> str:
    """SQL over relation ``src`` (all text, with ``line_no``) giving canonical typed columns,
    ``rule`` (the first row-level rule a line breaks, else NULL) and ``raw_record``.
    ``pretrimmed``: ``src`` comes from ``with_trimmed_columns`` (the record keeps the text as
    delivered)."""
    def col(name: str) -> str:
        source = cfg.columns.get(name)
        if source is None:
            return "NULL"
        if source.column is not None and source.column not in source_columns:
            return "NULL"  # reported as a missing column before we get here
        if pretrimmed and source.sql is None:
            return f"nullif({quoted(TRIMMED + source.column)}, '')"
        return f"nullif(trim(CAST({source.expression()} AS VARCHAR)), '')"

    # the line as delivered: the source's columns without the trimmed copies
    delivered = ", ".join(f"{quoted(c)} := {quoted(c)}" for c in [*source_columns, "line_no"])
    record = f"struct_pack({delivered})" if pretrimmed else "src"

    def ident(name: str) -> str:
        expr = col(name)
        if name in cfg.strip_float_suffix:
            expr = f"regexp_replace({expr}, '\\.0+$', '')"
        return expr

    fmt = cfg.timestamp.format.replace("'", "''")
    parsed = f"try_strptime({col('ordered_at')}, '{fmt}')"
    if "%z" in cfg.timestamp.format or "%Z" in cfg.timestamp.format:
        local_ts = f"timezone('{cfg.business_timezone}', {parsed})"
    elif cfg.source_timezone != cfg.business_timezone:
        local_ts = f"timezone('{cfg.business_timezone}', timezone('{cfg.source_timezone}', {parsed}))"
    else:
        local_ts = parsed
    rules = " ".join(f"WHEN {pred} THEN '{name}'" for name, pred in ROW_RULES)
    return f"""
    WITH typed AS (
        SELECT
            {run_date_sql} AS run_date,
            {source_file_sql} AS source_file,
            line_no,
            {ident('order_id')} AS order_id,
            {ident('customer_id')} AS customer_id,
            {ident('item_id')} AS item_id,
            {col('item_name')} AS item_name,
            {col('category')} AS category,
            TRY_CAST({col('quantity')} AS DOUBLE) AS quantity_num,
            TRY_CAST({col('unit_price')} AS DOUBLE) AS unit_price,
            CAST({local_ts} AS TIMESTAMP) AS ordered_at,
            {col('store')} AS store,
            {record} AS source_row
        FROM src
    ), ruled AS (
        SELECT * EXCLUDE (source_row), source_row, CASE {rules} ELSE NULL END AS rule FROM typed
    )
    -- keep the original record (for reprocessing) only where a rule caught the line
    SELECT * EXCLUDE (source_row),
           CASE WHEN rule IS NOT NULL THEN to_json(source_row)::VARCHAR END AS raw_record
    FROM ruled
    """


def missing_columns(cfg: SourceConfig, source_columns: list[str]) -> list[str]:
    """Mapped source columns that the file does not have."""
    return [
        f"{canonical} <- {source.column!r}"
        for canonical, source in cfg.columns.items()
        if source.column is not None and source.column not in source_columns
    ]


_local = threading.local()


def _scratch_connection() -> duckdb.DuckDBPyConnection:
    """One sandboxed in-memory DuckDB per thread (the mapping's computed columns run here: no
    file access, sources/expressions.py); connecting costs tens of ms, so days share it."""
    con = getattr(_local, "con", None)
    if con is None:
        con = sandbox()
        _local.con = con
    return con


def read_day(cfg: SourceConfig, run_date: date, files: list[Path]) -> DayBatch:
    """Read and normalise all of ``run_date``'s files; raise SourceFileError on unreadable ones."""
    con = _scratch_connection()
    line_parts, quarantine_parts, infos = [], [], []
    for path in files:
        src, malformed = read_raw_file(path, cfg)
        source_columns = [c for c in src.column_names if c != "line_no"]
        absent = missing_columns(cfg, source_columns)
        if absent:
            raise SourceFileError(
                f"{path}: mapped columns missing from the file: {', '.join(absent)}; "
                f"the file has {printable(str(source_columns), 300)}"
            )
        infos.append(SourceFile(path, file_sha256(path), path.stat().st_size,
                                src.num_rows + len(malformed)))
        if malformed:
            quarantine_parts.append(_malformed_rows(run_date, path, malformed, len(source_columns)))
        con.register("src", with_trimmed_columns(src, cfg))
        try:
            typed = con.execute(
                normalise_sql(cfg, source_columns, pretrimmed=True),
                {"run_date": run_date, "source_file": path.name},
            ).to_arrow_table()
        finally:
            con.unregister("src")
        failed = pc.is_valid(typed["rule"])
        # a clean file (most are) keeps its table: filtering copies every column
        good = typed.filter(pc.invert(failed)) if pc.any(failed).as_py() else typed
        good = good.set_column(
            good.schema.get_field_index("quantity_num"), "quantity",
            pc.cast(good["quantity_num"], pa.int64()),
        )
        line_parts.append(good.select(ORDER_LINE_SCHEMA.names))
        quarantine_parts.append(typed.filter(failed).select(QUARANTINE_SCHEMA.names))
    return DayBatch(
        run_date=run_date,
        files=infos,
        lines=_concat(line_parts, ORDER_LINE_SCHEMA),
        quarantine=_concat(quarantine_parts, QUARANTINE_SCHEMA),
    )


def _malformed_rows(run_date: date, path: Path, rows: list[tuple[int, str]], columns: int):
    """Rows that do not split into the header's columns, kept whole for reprocessing."""
    return pa.table({
        "run_date": pa.array([run_date] * len(rows), pa.date32()),
        "source_file": pa.array([path.name] * len(rows)),
        "line_no": pa.array([line for line, _ in rows], pa.int64()),
        "rule": pa.array(["malformed_row"] * len(rows)),
        "raw_record": pa.array([json.dumps({"text": text, "expected_columns": columns})
                                for _, text in rows]),
    }, schema=QUARANTINE_SCHEMA)


def _concat(parts: list, schema: pa.Schema) -> pa.Table:
    if not parts:
        return schema.empty_table()
    return pa.concat_tables([t.cast(schema) for t in parts])


CATALOGUE_SCHEMA = pa.schema([
    ("item_id", pa.string()),
    ("item_name", pa.string()),
    ("category", pa.string()),
    ("launch_date", pa.date32()),
    ("list_price", pa.float64()),
])


def read_catalogue(cfg: SourceConfig, data_dir: Path) -> pa.Table | None:
    """The source's item catalogue (items with launch dates, some never sold), if it has one."""
    if cfg.catalogue is None:
        return None
    path = cfg.landing_path(data_dir) / cfg.catalogue.file
    if not path.exists():
        raise SourceFileError(f"{path}: the catalogue named in {cfg.config_path} is missing")
    src, malformed = read_raw_file(path, cfg)
    if malformed:
        line, text = malformed[0]
        raise SourceFileError(f"{path}: catalogue row {line} does not split into the header's "
                              f"columns: {excerpt(text)}")
    exprs = []
    for name in CATALOGUE_SCHEMA.names:
        source = cfg.catalogue.columns.get(name)
        if source is None:
            exprs.append(f"NULL AS {name}")
            continue
        text = f"nullif(trim(CAST({source.expression()} AS VARCHAR)), '')"
        if name == "launch_date":
            fmt = cfg.catalogue.launch_date_format.replace("'", "''")
            text = f"CAST(try_strptime({text}, '{fmt}') AS DATE)"
        elif name == "list_price":
            text = f"TRY_CAST({text} AS DOUBLE)"
        exprs.append(f"{text} AS {name}")
    con = _scratch_connection()
    con.register("src", src)
    try:
        out = con.execute(f"SELECT {', '.join(exprs)} FROM src").to_arrow_table()
    finally:
        con.unregister("src")
    return out.filter(pc.is_valid(out["item_id"])).cast(CATALOGUE_SCHEMA)
