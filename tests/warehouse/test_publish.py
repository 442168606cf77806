"""Publishing a day as one unit: all its tables change together, latest.json never names a
missing or superseded version, a crash at any step leaves the old or the new day visible."""
import json
import os
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from warehouse import publish

D1, D2 = date(2025, 3, 1), date(2025, 3, 2)


def day(n: int, tables=("summary", "forecasts", "recommendations")) -> dict:
    """Tables whose every row says which publish ``n`` they came from."""
    return {t: (pa.table({"n": [n] * (n + 1)}), {"model_versions": [f"m{n}"]}) for t in tables}


def visible(published, run_date) -> dict[str, list[int]]:
    """What a reader lists for a run date: table -> the publish numbers of its rows."""
    out = {}
    for table in sorted(p.name for p in published.iterdir() if not p.name.startswith(("_", "."))
                        and p.is_dir()):
        part = publish.partition_dir(published, table, run_date)
        if part.exists():
            out[table] = sorted(set(pq.read_table(part / "part-0.parquet").column("n").to_pylist()))
    return out


def assert_consistent(published, run_date):
    """Every visible table of the day comes from its live version; latest.json names a live
    version whose tables all exist."""
    live = publish.live_version(published, run_date)
    seen = visible(published, run_date)
    assert len({tuple(v) for v in seen.values()}) <= 1, seen  # one publish, not a mix
    if live is None:
        assert seen == {}
    latest = publish.read_latest(published)
    if latest is not None:
        d = date.fromisoformat(latest["run_date"])
        assert latest["version"] == publish.live_version(published, d)
        for entry in latest["tables"].values():
            assert (published / entry["path"] / "part-0.parquet").exists()


def test_a_rerun_replaces_every_table_of_the_day_and_keeps_old_versions(tmp_path):
    publish.publish_day(tmp_path, D1, day(1), retention=2)
    assert visible(tmp_path, D1) == {"forecasts": [1], "recommendations": [1], "summary": [1]}
    for n in (2, 3, 4):
        manifests = publish.publish_day(tmp_path, D1, day(n), retention=2)
    assert visible(tmp_path, D1) == {"forecasts": [4], "recommendations": [4], "summary": [4]}
    live = publish.partition_dir(tmp_path, "forecasts", D1)
    assert json.loads((live / "_manifest.json").read_text())["version"] == manifests["forecasts"]["version"]
    assert manifests["forecasts"]["model_versions"] == ["m4"]
    versions = [p.name for p in (tmp_path / "_versions" / "run_date=2025-03-01").iterdir()]
    assert len(versions) == 3  # the live one and two replaced (retention)
    # a consumer's glob sees each live partition once
    files = sorted(str(f) for f in (tmp_path / "forecasts").glob("run_date=*/part-*.parquet"))
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet({files!r})").fetchone()[0] == 5


def test_a_table_the_new_version_lacks_is_no_longer_listed(tmp_path):
    publish.publish_day(tmp_path, D1, day(1))
    publish.publish_day(tmp_path, D1, day(2, tables=("summary",)))
    assert visible(tmp_path, D1) == {"summary": [2]}
    assert not list((tmp_path / "forecasts").glob("run_date=*/part-*.parquet"))
    assert_consistent(tmp_path, D1)


def test_a_failed_write_leaves_the_live_day_as_it_was(tmp_path, monkeypatch):
    publish.publish_day(tmp_path, D1, day(1))
    written, real_write = [], publish.write_parquet

    def disk_full_on_the_second_table(table, where):
        written.append(where)
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        return real_write(table, where)

    monkeypatch.setattr(publish, "write_parquet", disk_full_on_the_second_table)
    with pytest.raises(OSError):
        publish.publish_day(tmp_path, D1, day(2))
    monkeypatch.undo()
    assert visible(tmp_path, D1) == {"forecasts": [1], "recommendations": [1], "summary": [1]}
    assert not list((tmp_path / "_versions" / "run_date=2025-03-01").glob(".staging-*"))
    assert_consistent(tmp_path, D1)


def test_latest_never_moves_backwards_and_follows_a_rerun_of_its_day(tmp_path):
    publish.publish_day(tmp_path, D2, day(1))
    publish.publish_day(tmp_path, D1, day(2))  # a backfill of an older day
    assert publish.read_latest(tmp_path)["run_date"] == D2.isoformat()
    publish.publish_day(tmp_path, D2, day(3))
    latest = publish.read_latest(tmp_path)
    assert latest["version"] == publish.live_version(tmp_path, D2)
    assert latest["tables"]["forecasts"]["rows"] == 4


@pytest.mark.parametrize("crash_at", range(1, 9))
def test_a_crash_between_any_two_renames_leaves_a_whole_day_and_a_rerun_finishes(
        tmp_path, monkeypatch, crash_at):
    """Every rename and link swap of a publish (the version, each table's link, the day link,
    latest.json) is a step; the process dies before step ``crash_at``."""
    publish.publish_day(tmp_path, D1, day(1))
    publish.publish_day(tmp_path, D2, day(1, tables=("summary",)))  # forecasts of D2 are new
    steps = []

    def dying(real):
        def step(*args, **kwargs):
            steps.append(args)
            if len(steps) == crash_at:
                raise KeyboardInterrupt("killed")  # a BaseException: nothing cleans up after it
            return real(*args, **kwargs)
        return step

    monkeypatch.setattr(publish.os, "rename", dying(os.rename))
    monkeypatch.setattr(publish.os, "replace", dying(os.replace))
    for run_date in (D1, D2):
        try:
            publish.publish_day(tmp_path, run_date, day(2))
        except KeyboardInterrupt:
            pass
        assert_consistent(tmp_path, run_date)
    monkeypatch.undo()
    for run_date in (D1, D2):  # the rerun
        publish.publish_day(tmp_path, run_date, day(3))
        assert visible(tmp_path, run_date) == {"forecasts": [3], "recommendations": [3],
                                               "summary": [3]}
        assert_consistent(tmp_path, run_date)
    assert publish.read_latest(tmp_path)["run_date"] == D2.isoformat()


def test_a_reader_polling_during_publishes_never_sees_a_mixed_day(tmp_path):
    """A reader resolves the day once (its link, or latest.json's version) and reads every
    table under it: always one whole publish, never a mix, never a missing table."""
    import threading

    publish.publish_day(tmp_path, D1, day(0))
    stop, reads, mixed = threading.Event(), [], []

    def reader():
        while not stop.is_set():
            root = os.path.realpath(publish.day_link(tmp_path, D1))
            try:
                seen = {t: set(pq.read_table(f"{root}/{t}/part-0.parquet").column("n").to_pylist())
                        for t in ("summary", "forecasts", "recommendations")}
            except FileNotFoundError:  # that version was pruned while it was being read
                continue
            reads.append(seen)
            if len({frozenset(v) for v in seen.values()}) != 1:
                mixed.append(seen)

    thread = threading.Thread(target=reader)
    thread.start()
    for n in range(1, 30):
        publish.publish_day(tmp_path, D1, day(n), retention=3)
    stop.set()
    thread.join()
    assert reads and mixed == []


def test_a_day_published_as_plain_folders_is_taken_over(tmp_path):
    """Data directories from before versions were days: the old folders become a version."""
    old = tmp_path / "forecasts" / "run_date=2025-03-01"
    old.mkdir(parents=True)
    pq.write_table(pa.table({"n": [0]}), old / "part-0.parquet")
    (tmp_path / "latest.json").write_text(json.dumps({"run_date": "2025-03-01", "tables": {}}))
    publish.publish_day(tmp_path, D1, day(1))
    assert visible(tmp_path, D1) == {"forecasts": [1], "recommendations": [1], "summary": [1]}
    assert (tmp_path / "latest.json").is_symlink()
    assert_consistent(tmp_path, D1)
