"""Checksums of published tables see the rows, not the files: same rows in another order give
the same sums, one changed value another."""
from datetime import date

import pyarrow as pa

from warehouse import publish
from warehouse.checksums import published_checksums

D1, D2 = date(2025, 3, 1), date(2025, 3, 2)


def _publish(root, rows_d1):
    publish.publish_day(root, D1, {"forecasts": (pa.table(rows_d1), {})})
    publish.publish_day(root, D2, {"forecasts": (pa.table({"item_id": ["c"], "mean": [3.0]}), {})})
    return published_checksums(root)


def test_same_rows_same_checksum_and_a_changed_value_shows(tmp_path):
    first = _publish(tmp_path / "a", {"item_id": ["a", "b"], "mean": [1.0, 2.0]})
    reordered = _publish(tmp_path / "b", {"item_id": ["b", "a"], "mean": [2.0, 1.0]})
    changed = _publish(tmp_path / "c", {"item_id": ["a", "b"], "mean": [1.0, 2.5]})
    assert first == reordered and first["forecasts"][0] == 3
    assert changed["forecasts"] != first["forecasts"]


def test_a_table_checksum_sees_rows_not_their_order_and_counts_duplicates():
    import duckdb

    from warehouse.checksums import table_checksum

    con = duckdb.connect()
    for name, rows in {"first": "('a', 1.0), ('b', 2.0)", "reordered": "('b', 2.0), ('a', 1.0)",
                       "changed": "('a', 1.0), ('b', 2.5)", "swapped": "('a', 2.0), ('b', 1.0)",
                       "doubled": "('a', 1.0), ('a', 1.0), ('b', 2.0)"}.items():
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM (VALUES {rows}) AS t(item_id, mean)")
    first = table_checksum(con, "first")
    assert first == table_checksum(con, "reordered") and first[0] == 2
    for other in ("changed", "swapped", "doubled"):
        assert table_checksum(con, other)[1] != first[1], other
