"""One schema per published table: the Parquet schema the pipeline writes, from which the
DuckDB DDL of the warehouse's copy is derived (docs/evaluation.md, "published outputs")."""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# DuckDB's row group: it scans a Parquet file or an Arrow table one row group or chunk per
# thread, so what it loads comes in pieces of this size (a 1M-line day in pyarrow's default
# 1Mi-row groups was inserted on one core: 1.1 s against 0.6 s; docs/decisions/0023)
ROW_GROUP_ROWS = 122_880
PARQUET_COMPRESSION = "zstd"

FORECASTS = pa.schema([
    pa.field("run_date", pa.date32(), nullable=False),
    pa.field("item_id", pa.string(), nullable=False),
    pa.field("target_date", pa.date32(), nullable=False),
    pa.field("mean", pa.float64()), pa.field("p10", pa.float64()),
    pa.field("p50", pa.float64()), pa.field("p90", pa.float64()),
    pa.field("model_version", pa.string(), nullable=False),
    pa.field("history_days", pa.int32()),  # null: a catalogue item never sold
])

RECOMMENDATIONS = pa.schema([
    pa.field("run_date", pa.date32(), nullable=False),
    pa.field("customer_id", pa.string(), nullable=False),
    pa.field("rank", pa.int32(), nullable=False),
    pa.field("item_id", pa.string(), nullable=False),
    pa.field("score", pa.float64()),
    pa.field("model_version", pa.string(), nullable=False),
    pa.field("segment", pa.string(), nullable=False),
])

PREDICTION_TABLES = {"predictions.forecasts": FORECASTS,
                     "predictions.recommendations": RECOMMENDATIONS}

_DUCKDB_TYPES = {pa.date32(): "DATE", pa.string(): "VARCHAR", pa.float64(): "DOUBLE",
                 pa.int32(): "INTEGER", pa.int64(): "BIGINT", pa.bool_(): "BOOLEAN"}


def create_table_sql(name: str, schema: pa.Schema) -> str:
    columns = ",\n".join(
        f"    {f.name} {_DUCKDB_TYPES[f.type]}{'' if f.nullable else ' NOT NULL'}" for f in schema)
    return f"CREATE TABLE IF NOT EXISTS {name} (\n{columns}\n);"


def write_parquet(table: pa.Table, path: Path) -> None:
    """A Parquet file DuckDB reads in parallel: row groups of ``ROW_GROUP_ROWS``."""
    pq.write_table(table, path, compression=PARQUET_COMPRESSION, row_group_size=ROW_GROUP_ROWS)
