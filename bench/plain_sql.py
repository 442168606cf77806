"""The same transformations as plain SQL in one DuckDB, for comparison with the pipeline.

Ingest reuses the pipeline's normalisation SQL over all files at once; the marts reuse the SQL
dbt compiled for the pipeline's backfill window. Only orchestration differs: no incoming area,
no per-day transactions, no dbt, no ledger, no publishing. ``plain_day`` does the same for the
one day a daily run just built, so that the daily run can be held against its plain parts.
"""
from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import duckdb

from pipeline.settings import Settings
from sources.config import SourceConfig
from sources.landing import ORDER_LINE_SCHEMA, QUARANTINE_SCHEMA, normalise_sql

MART_ORDER = ["fct_item_daily_demand", "fct_customer_item_daily", "fct_customer_daily",
              "daily_line_counts", "item_features", "customer_features"]
STAGING = ["stg_order_lines", "stg_order_lines_classified", "stg_purchase_lines", "stg_catalogue",
           "stg_quarantine"]


def plain_ingest(settings: Settings, cfg: SourceConfig, warehouse: Path, spec: dict) -> dict:
    landing = cfg.landing_path(settings.root)
    files = sorted(str(p) for p in landing.glob(cfg.file_pattern.replace("{date}", "*")))
    files = [f for f in files if spec["start"] <= Path(f).name.split("_")[1] <= spec["end"]]
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(f"""CREATE OR REPLACE TEMP VIEW src AS
        SELECT * EXCLUDE (filename), 0::BIGINT AS line_no, filename AS file
        FROM read_csv({files}, all_varchar = true, header = true, filename = true)""")
    columns = [c for c in con.execute("DESCRIBE src").fetchnumpy()["column_name"] if c not in ("line_no", "file")]
    sql = normalise_sql(
        cfg, columns,
        run_date_sql="CAST(strptime(regexp_extract(file, '\\d{4}-\\d{2}-\\d{2}'), '%Y-%m-%d') AS DATE)",
        source_file_sql="file",
    ).replace("src AS source_row", "struct_pack(*COLUMNS(* EXCLUDE (line_no, file))) AS source_row")
    con.execute(f"CREATE TEMP TABLE typed AS {sql}")
    lines = ", ".join(ORDER_LINE_SCHEMA.names).replace("quantity", "CAST(quantity_num AS BIGINT) AS quantity")
    con.execute(f"CREATE OR REPLACE TABLE raw.order_lines AS SELECT {lines} FROM typed WHERE rule IS NULL")
    con.execute(f"CREATE OR REPLACE TABLE raw.quarantine AS SELECT {', '.join(QUARANTINE_SCHEMA.names)} "
                "FROM typed WHERE rule IS NOT NULL")
    catalogue = landing / cfg.catalogue.file if cfg.catalogue else None
    con.execute("CREATE OR REPLACE TABLE raw.catalogue AS SELECT sku AS item_id, product_name AS item_name, "
                f"category_path AS category, CAST(launch_date AS DATE) AS launch_date, list_price "
                f"FROM read_csv('{catalogue}')")
    # the file list the marts' input fingerprint reads (plain SQL checksums nothing: names stand in)
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute("CREATE OR REPLACE TABLE ops.ingested_files AS SELECT DISTINCT run_date, "
                "source_file AS file_name, source_file AS sha256 FROM raw.order_lines")
    # what the gate records per day, which the marts' line counts compare with
    con.execute("CREATE OR REPLACE TABLE ops.day_volumes AS SELECT run_date, count(*) AS delivered, "
                "count(*) FILTER (WHERE rule IS NOT NULL) AS quarantined, count(*) FILTER "
                "(WHERE rule IS NULL AND customer_id IS NULL) AS no_customer FROM typed GROUP BY 1")
    n = con.execute("SELECT count(*) FROM raw.order_lines").fetchone()[0]
    con.close()
    return {"lines": n, "files": len(files)}


def plain_marts(settings: Settings, cfg: SourceConfig, warehouse: Path, spec: dict) -> dict:
    compiled = settings.dbt_target_dir / "compiled" / "shopcast" / "models"
    con = duckdb.connect(str(warehouse))
    for schema in ("staging", "marts"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for name in STAGING:
        con.execute(f"CREATE OR REPLACE VIEW staging.{name} AS {(compiled / 'staging' / f'{name}.sql').read_text()}")
    for name in MART_ORDER:
        con.execute(f"CREATE OR REPLACE TABLE marts.{name} AS {(compiled / 'marts' / f'{name}.sql').read_text()}")
    rows = {name: con.execute(f"SELECT count(*) FROM marts.{name}").fetchone()[0] for name in MART_ORDER}
    con.close()
    return {"rows": rows}


def plain_day(settings: Settings, cfg: SourceConfig, day: date, scratch: Path) -> dict:
    """The plain SQL of one daily run, timed: its files normalised into a scratch DuckDB, and
    the marts' SQL that dbt compiled for that run (incremental: it reads the history the
    warehouse holds) run on the warehouse into temporary tables, in dependency order."""
    t0 = time.perf_counter()
    plain_ingest(settings, cfg, scratch, {"start": day.isoformat(), "end": day.isoformat()})
    ingest_s = time.perf_counter() - t0
    compiled = settings.dbt_target_dir / "compiled" / "shopcast" / "models" / "marts"
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        t0 = time.perf_counter()
        for name in MART_ORDER:
            con.execute(f"CREATE TEMP TABLE plain_{name} AS {(compiled / f'{name}.sql').read_text()}")
        marts_s = time.perf_counter() - t0
    finally:
        con.close()
    scratch.unlink(missing_ok=True)
    return {"ingest": ingest_s, "marts": marts_s}
