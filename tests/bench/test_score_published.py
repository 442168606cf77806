"""bench/score_published.py: the files a backfill published, scored as a consumer reads them,
agree with the harness's figures for the model that served; a published file that differs from
what that model makes is caught."""
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench import score_published
from tests.monitoring.conftest import DAY, monitored  # noqa: F401 (the fixture: a published shop)
from warehouse.publish import partition_dir

ORIGIN = DAY[60]  # 28 and 30 days of actuals follow it


@pytest.mark.slow
@pytest.mark.dbt
def test_published_files_score_as_the_harness_and_a_changed_file_is_caught(monitored, tmp_path):  # noqa: F811
    settings = monitored
    rows = score_published.compare(settings.root, [ORIGIN], [ORIGIN])
    assert {r["table"] for r in rows} == {"forecasts", "recommendations"}
    assert {r["served"] for r in rows} == {"baseline-ses-alpha0.1", "baseline-recency-reorders"}
    assert max(r["difference"] for r in rows) <= score_published.TOLERANCE
    assert all(0 < r["published files"] < 10 for r in rows)

    # the same files with every customer's list reversed: the harness no longer agrees
    copy = tmp_path / "data"
    shutil.copytree(settings.root / "published", copy / "published")
    shutil.copy(settings.warehouse_path, copy / "warehouse.duckdb")
    path = partition_dir(copy / "published", "recommendations", ORIGIN) / "part-0.parquet"
    table = pq.read_table(path)
    reversed_ranks = pa.compute.subtract(pa.scalar(21, pa.int32()), table["rank"])
    pq.write_table(table.set_column(table.schema.get_field_index("rank"), "rank", reversed_ranks), path)
    # NDCG sees the order; recall of a full list of 20 does not
    changed = {r["metric"]: r["difference"] for r in score_published.compare(copy, [], [ORIGIN])}
    assert changed["ndcg_at_20 all"] > score_published.TOLERANCE
    assert score_published.main(["--data-dir", str(copy), "--recommend-origins", ORIGIN.isoformat()]) == 1
