"""The foundation section's early warehouse reads the pipeline's generated files through a link."""
import os
from pathlib import Path

from bench.run import link_landing


def test_the_link_reads_the_pipelines_files_from_a_relative_work_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    work = Path("data") / "bench"  # relative, as `--work data/bench`
    (work / "pipeline" / "landing").mkdir(parents=True)
    (work / "pipeline" / "landing" / "orders.csv").write_text("a,b\n")
    (work / "early").mkdir()
    link_landing(work / "early", work / "pipeline")
    assert (work / "early" / "landing" / "orders.csv").read_text() == "a,b\n"


def test_a_link_left_by_an_earlier_run_is_replaced(tmp_path):
    (tmp_path / "pipeline" / "landing").mkdir(parents=True)
    (tmp_path / "early").mkdir()
    os.symlink(tmp_path / "gone", tmp_path / "early" / "landing")  # dangling
    link_landing(tmp_path / "early", tmp_path / "pipeline")
    assert (tmp_path / "early" / "landing").resolve() == (tmp_path / "pipeline" / "landing").resolve()
