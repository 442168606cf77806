"""One schema per published table: the Parquet schema the pipeline writes, from which the
DuckDB DDL of the warehouse's copy is derived (docs/evaluation.md, "published outputs")."""
from __future__ import annotations

import pyarrow as pa

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
