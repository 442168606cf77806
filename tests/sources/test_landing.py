from datetime import date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sources.config import load_source_config
from sources.expressions import sandbox
from sources.landing import (
    SourceFileError,
    normalise_sql,
    read_day,
    read_raw_file,
    with_trimmed_columns,
)
from tests.conftest import write_day, write_tiny_source

D = date(2025, 3, 1)


def test_mapping_renames_casts_and_normalises_ids(tiny_source):
    cfg, landing = tiny_source
    f = write_day(landing, D, [
        "536365,85123A,WHITE HEART,6,2.55,2025-03-01T08:26:00Z,17850.0,United Kingdom",
        "536366, 22633 ,HAND WARMER,2,1.85,2025-03-01T22:59:59Z,,France",
    ])
    batch = read_day(cfg, D, [f])
    rows = batch.lines.to_pylist()
    assert [r["line_no"] for r in rows] == [1, 2]
    assert rows[0]["customer_id"] == "17850"  # float suffix stripped
    assert rows[1]["customer_id"] is None  # no customer: valid, counts for demand
    assert rows[1]["item_id"] == "22633"  # trimmed
    assert rows[0]["quantity"] == 6 and rows[0]["unit_price"] == pytest.approx(2.55)
    # UTC in the file, Berlin (UTC+1 in March) in the warehouse
    assert rows[0]["ordered_at"] == datetime(2025, 3, 1, 9, 26)
    assert rows[1]["ordered_at"] == datetime(2025, 3, 1, 23, 59, 59)
    assert batch.quarantine.num_rows == 0
    assert batch.files[0].rows == 2 and len(batch.files[0].sha256) == 64


def test_row_level_defects_are_quarantined_with_rule_file_and_line(tiny_source):
    cfg, landing = tiny_source
    f = write_day(landing, D, [
        "1,10001,OK,1,1.00,2025-03-01T10:00:00Z,1,DE",
        "2,10001,NEG,1,-1.00,2025-03-01T10:00:00Z,1,DE",
        "3,10001,BADTS,1,1.00,2025-13-45T99:99:99Z,1,DE",
        "4,,NOITEM,1,1.00,2025-03-01T10:00:00Z,1,DE",
        ",10001,NOORDER,1,1.00,2025-03-01T10:00:00Z,1,DE",
        "6,10001,HALF,1.5,1.00,2025-03-01T10:00:00Z,1,DE",
        "7,10001,TOMORROW,1,1.00,2025-03-01T23:30:00Z,1,DE",  # 00:30 on 2 March in Berlin
        "8,10001,PRICE,1,abc,2025-03-01T10:00:00Z,1,DE",
        # numbers that parse as doubles but are no quantity or price: 'NAN' once passed the
        # quantity rule (NaN equals its floor in DuckDB) and broke the cast to whole units
        "9,10001,NANQTY,NAN,1.00,2025-03-01T10:00:00Z,1,DE",
        "10,10001,INFQTY,1e309,1.00,2025-03-01T10:00:00Z,1,DE",
        "11,10001,HUGEQTY,1e30,1.00,2025-03-01T10:00:00Z,1,DE",
        "12,10001,NANPRICE,1,NaN,2025-03-01T10:00:00Z,1,DE",
        "13,10001,INFPRICE,1,-inf,2025-03-01T10:00:00Z,1,DE",
    ])
    batch = read_day(cfg, D, [f])
    assert batch.lines.num_rows == 1
    caught = {(r["line_no"], r["rule"]) for r in batch.quarantine.to_pylist()}
    assert caught == {(2, "negative_price"), (3, "bad_timestamp"), (4, "missing_item_id"),
                      (5, "missing_order_id"), (6, "bad_quantity"), (7, "outside_run_date"),
                      (8, "bad_price"), (9, "bad_quantity"), (10, "bad_quantity"),
                      (11, "bad_quantity"), (12, "bad_price"), (13, "bad_price")}
    assert batch.quarantine_counts["negative_price"] == 1
    first = batch.quarantine.to_pylist()[0]
    assert first["source_file"] == f.name and '"Name":"NEG"' in first["raw_record"]


def test_columns_trimmed_in_arrow_normalise_as_duckdbs_trim(tiny_source):
    """Ingest trims the plain mapped columns in Arrow (with_trimmed_columns); the same lines,
    rules and kept records as trimming in the SQL: spaces go, tabs stay, a blank id is missing,
    and a quarantined line keeps its text as delivered."""
    cfg, landing = tiny_source
    f = write_day(landing, D, [
        "  536365 ,  85123A,WHITE HEART ,6, 2.55 ,2025-03-01T08:26:00Z, 17850.0 ,United Kingdom",
        "536366,\t22633\t,HAND WARMER,2,1.85,2025-03-01T22:59:59Z,,  France  ",
        "536367,   ,BLANK ITEM,1,1.00,2025-03-01T10:00:00Z,1,DE",
        " 536368 ,10001, NEG ,1,-1.00,2025-03-01T10:00:00Z,1,DE",
    ])
    src, _ = read_raw_file(f, cfg)
    columns = [c for c in src.column_names if c != "line_no"]
    con = sandbox()
    results = []
    for table, pretrimmed in ((src, False), (with_trimmed_columns(src, cfg), True)):
        con.register("src", table)
        results.append(con.execute(normalise_sql(cfg, columns, pretrimmed=pretrimmed),
                                   {"run_date": D, "source_file": f.name}).to_arrow_table())
        con.unregister("src")
    in_sql, in_arrow = results
    assert in_arrow.equals(in_sql)
    rows = in_arrow.to_pylist()
    assert rows[0]["order_id"] == "536365" and rows[0]["item_id"] == "85123A"
    assert rows[1]["item_id"] == "\t22633\t" and rows[1]["store"] == "France"
    assert rows[2]["rule"] == "missing_item_id" and rows[3]["rule"] == "negative_price"
    assert '" 536368 "' in rows[3]["raw_record"] and '" NEG "' in rows[3]["raw_record"]


def test_parquet_files_read_like_csv(tmp_path, data_dir):
    path = write_tiny_source(tmp_path)
    text = path.read_text().replace('sales_{date}*.csv', 'sales_{date}*.parquet')
    path.write_text(text)
    cfg = load_source_config(path)
    landing = cfg.landing_path(data_dir)
    f = landing / f"sales_{D.isoformat()}.parquet"
    pq.write_table(pa.table({
        "Invoice": ["1"], "Sku": ["10001"], "Name": ["X"], "Qty": [3], "Price": [2.5],
        "At": ["2025-03-01T10:00:00Z"], "Customer": [17850.0], "Country": ["DE"],
    }), f)
    batch = read_day(cfg, D, [f])
    assert batch.lines.to_pylist()[0]["quantity"] == 3
    assert batch.lines.to_pylist()[0]["customer_id"] == "17850"


def test_missing_mapped_column_names_the_file_and_column(tiny_source):
    cfg, landing = tiny_source
    f = landing / f"sales_{D.isoformat()}.csv"
    f.write_text("Invoice,Sku,Name,Qty,Price,Timestamp,Customer,Country\n1,10001,X,1,1,2025-03-01T10:00:00Z,1,DE\n")
    with pytest.raises(SourceFileError, match=r"ordered_at <- 'At'") as err:
        read_day(cfg, D, [f])
    assert str(f) in str(err.value)


def test_empty_and_non_utf8_files_are_clear_errors(tiny_source):
    cfg, landing = tiny_source
    empty = landing / "sales_2025-03-01.csv"
    empty.write_bytes(b"")
    with pytest.raises(SourceFileError, match="empty"):
        read_day(cfg, D, [empty])
    latin = landing / "sales_2025-03-02.csv"
    latin.write_bytes(b"Invoice,Sku,Name,Qty,Price,At,Customer,Country\n1,10001,CAF\xc9,1,1,2025-03-02T10:00:00Z,1,DE\n")
    with pytest.raises(SourceFileError, match=str(latin)):
        read_day(cfg, date(2025, 3, 2), [latin])


COMPUTED_MAPPING = """
name: computed
landing_dir: {landing}
file_pattern: "export_{{date}}.csv"
csv: {{delimiter: ";"}}
columns:
  order_id: Invoice
  item_id: Sku
  quantity: Qty
  unit_price:
    sql: 'TRY_CAST("LineTotal" AS DOUBLE) / nullif(TRY_CAST("Qty" AS DOUBLE), 0)'
  ordered_at:
    sql: '"OrderDate" || '' '' || "OrderTime"'
  customer_id: Customer
timestamp: {{format: "%Y-%m-%d %H:%M:%S"}}
business_timezone: Europe/Berlin
"""


def test_computed_columns_derive_a_price_and_join_a_timestamp(tmp_path):
    """docs/source_mapping.md's two computed columns, on a real file."""
    landing = tmp_path / "landing"
    landing.mkdir()
    mapping = tmp_path / "computed.yaml"
    mapping.write_text(COMPUTED_MAPPING.format(landing=landing))
    cfg = load_source_config(mapping)
    f = landing / "export_2025-03-01.csv"
    f.write_text("Invoice;Sku;Qty;LineTotal;OrderDate;OrderTime;Customer\n"
                 "A1;10001;4;10.00;2025-03-01;09:15:00;7\n"
                 "A2;10002;0;5.00;2025-03-01;10:00:00;8\n")
    batch = read_day(cfg, D, cfg.files_for(D, tmp_path))
    (row,) = batch.lines.to_pylist()
    assert row["unit_price"] == pytest.approx(2.5)
    assert row["ordered_at"] == datetime(2025, 3, 1, 9, 15)
    assert batch.quarantine.to_pylist()[0]["rule"] == "bad_price"  # no price from a zero quantity
