"""dbt start-up: the project is parsed once per process, the run window never invalidates dbt's
partial parsing, and a changed project file is still picked up."""
import shutil
from datetime import date

import duckdb
import pytest

from domain.paths import REPO_ROOT
from pipeline.settings import Settings
from tests.conftest import promote_tiny_days
from warehouse import db, transform
from warehouse.transform import DbtProject

pytestmark = pytest.mark.dbt

D1, D2 = date(2025, 3, 1), date(2025, 3, 2)
DAYS = {
    D1: ["1,10001,HEART,2,1.50,2025-03-01T09:00:00Z,7.0,DE"],
    D2: ["2,10001,HEART,1,1.50,2025-03-02T10:00:00Z,8.0,FR"],
}


@pytest.fixture
def project(tiny_source, settings, tmp_path):
    """The tiny shop's first two days promoted, and a copy of the dbt project to edit."""
    cfg, landing = tiny_source
    shutil.copytree(REPO_ROOT / "dbt_project", tmp_path / "dbt_project")
    settings = Settings(dbt_project_dir=tmp_path / "dbt_project")
    promote_tiny_days(settings, landing, DAYS)
    return settings, cfg


def _days_built(settings, table="marts.fct_item_daily_demand"):
    with db.reader(settings) as con:
        return [r[0] for r in con.execute(f"SELECT DISTINCT order_date FROM {table} ORDER BY 1").fetchall()]


def test_the_run_window_is_not_a_var_so_the_next_day_reuses_the_parse(project):
    settings, cfg = project
    assert not {"start_date", "end_date"} & set(transform.dbt_vars(settings, cfg))
    first = DbtProject(settings, cfg)
    first.build(D1, D1)
    first.build(D2, D2)
    assert first.last_parse.kind == "reused"  # one parse per process
    assert _days_built(settings) == [D1, D2]

    # the next day's process: dbt re-reads its saved parse instead of the whole project
    next_process = DbtProject(settings, cfg)
    next_process.build(D2, D2)
    assert next_process.last_parse.kind == "partial", next_process.last_parse
    compiled = settings.dbt_target_dir / "compiled" / "shopcast" / "models" / "marts" / "fct_customer_daily.sql"
    assert "DATE '2025-03-02'" in compiled.read_text()  # the window as it ran, in dbt's own files


def test_a_changed_project_file_is_picked_up_in_the_same_process(project):
    settings, cfg = project
    dbt = DbtProject(settings, cfg)
    dbt.build(D1, D1)
    staging = settings.dbt_project_dir / "models" / "staging" / "stg_catalogue.sql"
    staging.write_text(staging.read_text().rstrip().rstrip(";") + "\n")  # same SQL, new file
    (settings.dbt_project_dir / "models" / "marts" / "probe_days.sql").write_text(
        "{{ config(materialized='table') }}\n"
        "select {{ end_date() }} as as_of_date, count(*) as lines from {{ ref('stg_order_lines') }}\n")
    dbt.build(D2, D2)
    assert dbt.last_parse.kind in ("partial", "full")
    with db.reader(settings) as con:
        assert con.execute("SELECT as_of_date, lines FROM marts.probe_days").fetchall() == [(D2, 2)]


def test_views_are_created_again_only_when_the_project_changed(project):
    """The next day keeps the staging views (and still runs their tests); a changed view model
    is created again at the next build, in this process or the next."""
    settings, cfg = project
    first = DbtProject(settings, cfg)
    assert not first.build(D1, D1).views_kept  # a new warehouse: created
    kept = DbtProject(settings, cfg).build(D2, D2)  # the next day's process
    assert kept.views_kept
    assert "stg_catalogue" not in kept.nodes and kept.nodes["unique_stg_catalogue_item_id"] == "pass"
    assert _days_built(settings) == [D1, D2]

    staging = settings.dbt_project_dir / "models" / "staging" / "stg_catalogue.sql"
    staging.write_text(staging.read_text().replace("list_price\n", "list_price,\n    1 as probe\n"))
    changed = DbtProject(settings, cfg).build(D2, D2)
    assert not changed.views_kept and changed.nodes["stg_catalogue"] == "success"
    with db.reader(settings) as con:
        con.execute("SELECT probe FROM staging.stg_catalogue").fetchall()
    assert DbtProject(settings, cfg).build(D2, D2).views_kept


def test_dbt_run_by_hand_without_a_run_window_says_what_is_missing(project):
    from dbt.cli.main import dbtRunner

    settings, cfg = project
    dbt = DbtProject(settings, cfg)
    dbt.build(D1, D1)
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("DELETE FROM ops.run_window")
    con.close()
    res = dbtRunner().invoke(["build", "--select", "fct_customer_daily", *dbt.cli_args()])
    assert not res.success
    assert "ops.run_window holds 0 rows" in " ".join(str(r.message) for r in res.result.results)
