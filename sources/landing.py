"""Read one run date's files from a landing folder into canonical order lines.

Pure functions: they read the source files and return Arrow tables (good lines and quarantined
lines); writing them anywhere is the caller's business.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sources.config import SourceConfig

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
    ("bad_quantity", "quantity_num IS NULL OR quantity_num <> floor(quantity_num)"),
    ("bad_price", "unit_price IS NULL"),
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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_raw_file(path: Path, cfg: SourceConfig) -> pa.Table:
    """Every column as text, plus ``line_no``: the 1-based data row in the file."""
    try:
        if cfg.file_format(path) == "parquet":
            table = pq.read_table(path)
            table = pa.table({n: table[n].cast(pa.string()) for n in table.column_names})
        else:
            if path.stat().st_size == 0:
                raise SourceFileError(f"{path}: the file is empty (0 bytes, not even a header)")
            names = _csv_header(path, cfg)
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(encoding=cfg.csv.encoding),
                parse_options=pacsv.ParseOptions(delimiter=cfg.csv.delimiter, quote_char=cfg.csv.quote),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names},
                    strings_can_be_null=False,
                ),
            )
    except SourceFileError:
        raise
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
        raise SourceFileError(f"{path}: cannot be read as {cfg.file_format(path)}: {exc}") from exc
    return table.append_column("line_no", pa.array(range(1, table.num_rows + 1), pa.int64()))


def _csv_header(path: Path, cfg: SourceConfig) -> list[str]:
    with path.open("rb") as fh:
        first = fh.readline()
    header = pacsv.read_csv(
        pa.py_buffer(first),
        read_options=pacsv.ReadOptions(encoding=cfg.csv.encoding),
        parse_options=pacsv.ParseOptions(delimiter=cfg.csv.delimiter, quote_char=cfg.csv.quote),
    )
    return header.column_names


def normalise_sql(
    cfg: SourceConfig,
    source_columns: list[str],
    run_date_sql: str = "CAST($run_date AS DATE)",
    source_file_sql: str = "CAST($source_file AS VARCHAR)",
) -> str:
    """SQL over relation ``src`` (all text, with ``line_no``) giving canonical typed columns,
    ``rule`` (the first row-level rule a line breaks, else NULL) and ``raw_record``."""
    def col(name: str) -> str:
        source = cfg.columns.get(name)
        if source is None:
            return "NULL"
        if source.column is not None and source.column not in source_columns:
            return "NULL"  # reported as a missing column before we get here
        return f"nullif(trim(CAST({source.expression()} AS VARCHAR)), '')"

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
            src AS source_row
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
    """One in-memory DuckDB per thread: connecting costs tens of ms, so days share it."""
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(config={"threads": 1})
        _local.con = con
    return con


def read_day(cfg: SourceConfig, run_date: date, files: list[Path]) -> DayBatch:
    """Read and normalise all of ``run_date``'s files; raise SourceFileError on unreadable ones."""
    con = _scratch_connection()
    line_parts, quarantine_parts, infos = [], [], []
    for path in files:
        src = read_raw_file(path, cfg)
        source_columns = [c for c in src.column_names if c != "line_no"]
        absent = missing_columns(cfg, source_columns)
        if absent:
            raise SourceFileError(
                f"{path}: mapped columns missing from the file: {', '.join(absent)}; "
                f"the file has {source_columns}"
            )
        infos.append(SourceFile(path, file_sha256(path), path.stat().st_size, src.num_rows))
        con.register("src", src)
        try:
            typed = con.execute(
                normalise_sql(cfg, source_columns),
                {"run_date": run_date, "source_file": path.name},
            ).to_arrow_table()
        finally:
            con.unregister("src")
        failed = pc.is_valid(typed["rule"])
        good = typed.filter(pc.invert(failed))
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
    src = read_raw_file(path, cfg)
    exprs = []
    for name in CATALOGUE_SCHEMA.names:
        source = cfg.catalogue.columns.get(name)
        if source is None:
            exprs.append(f"NULL AS {name}")
            continue
        ref = f'"{source}"' if isinstance(source, str) else source.expression()
        text = f"nullif(trim(CAST({ref} AS VARCHAR)), '')"
        if name == "launch_date":
            text = f"CAST(try_strptime({text}, '{cfg.catalogue.launch_date_format}') AS DATE)"
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
