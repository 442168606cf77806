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
