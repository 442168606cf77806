"""The import-linter contracts of pyproject.toml hold, and a wrong import breaks them."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from domain.paths import REPO_ROOT

PACKAGES = ("flows", "bench", "pipeline", "checks", "models", "warehouse", "sources", "domain")
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


def test_the_contracts_hold():
    result = _lint(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, bad_import, contract", [
    ("warehouse/db.py", "import pipeline.settings", "entry points > pipeline"),
    ("models/forecaster/train.py", "import models.recommender.data", "forecaster and the recommender"),
    ("pipeline/stages.py", "import prefect", "only flows/ knows the orchestrator"),
    ("models/panel.py", "import warehouse.db", "models read arrays"),
])
def test_a_forbidden_import_breaks_a_contract(tmp_path, module, bad_import, contract):
    for package in PACKAGES:
        shutil.copytree(REPO_ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    assert _lint(tmp_path).returncode == 0  # the copy is as clean as the repository
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{bad_import}  # a wrong import\n")
    result = _lint(tmp_path)
    assert result.returncode != 0, result.stdout
    assert contract in result.stdout and "BROKEN" in result.stdout
