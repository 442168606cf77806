import json
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq

from warehouse import publish

D1, D2 = date(2025, 3, 1), date(2025, 3, 2)


def test_publish_replaces_a_partition_and_archives_the_old_version(tmp_path):
    m1 = publish.publish_partition(tmp_path, "t", D1, pa.table({"x": [1, 2]}), retention=2)
    live = publish.partition_dir(tmp_path, "t", D1)
    assert pq.read_table(live).num_rows == 2
    assert json.loads((live / "_manifest.json").read_text())["version"] == m1["version"]
    for n in (3, 4, 5):
        publish.publish_partition(tmp_path, "t", D1, pa.table({"x": list(range(n))}), retention=2)
    assert pq.read_table(live / "part-0.parquet").num_rows == 5
    archived = list((tmp_path / "_archive" / "t" / live.name).iterdir())
    assert len(archived) == 2  # retention
    assert not [p for p in (tmp_path / "t").iterdir() if p.name.startswith(".staging")]


def test_a_failed_write_leaves_the_live_partition_as_it_was(tmp_path, monkeypatch):
    publish.publish_partition(tmp_path, "t", D1, pa.table({"x": [1]}))
    live = publish.partition_dir(tmp_path, "t", D1)
    before = (live / "part-0.parquet").read_bytes()

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(publish.pq, "write_table", broken)
    try:
        publish.publish_partition(tmp_path, "t", D1, pa.table({"x": [2]}))
    except OSError:
        pass
    assert (live / "part-0.parquet").read_bytes() == before
    assert [p.name for p in (tmp_path / "t").iterdir()] == [live.name]


def test_latest_never_moves_backwards(tmp_path):
    m = publish.publish_partition(tmp_path, "t", D2, pa.table({"x": [1]}))
    assert publish.update_latest(tmp_path, D2, {"t": m})
    m_old = publish.publish_partition(tmp_path, "t", D1, pa.table({"x": [1]}))
    assert not publish.update_latest(tmp_path, D1, {"t": m_old})  # a backfill of an old day
    assert publish.read_latest(tmp_path)["run_date"] == D2.isoformat()
