"""The product's processes make OpenMP's idle threads sleep soon, before LightGBM or PyTorch
loads (decision 0047), and leave an operator's own value alone."""
import os
import subprocess
import sys

import pytest

from domain.paths import REPO_ROOT

PROBE = ("import os, sys; import {package}; "
         "print(os.environ.get('GOMP_SPINCOUNT'), 'torch' in sys.modules, 'lightgbm' in sys.modules)")


@pytest.mark.parametrize("package", ["flows", "bench"])
@pytest.mark.parametrize("given, expected", [(None, "1000"), ("300000", "300000")])
def test_the_spin_is_set_before_the_libraries_load(package, given, expected):
    env = {k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}
    if given:
        env["GOMP_SPINCOUNT"] = given
    done = subprocess.run([sys.executable, "-c", PROBE.format(package=package)], env=env,
                          cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == [expected, "False", "False"]
