"""Two trainings with the same seed on the same data give the same weights, in separate
processes and on two threads (models/__init__.py: deterministic kernels). Without them this shop
gave other weights on every run: its index_add_ and embedding backward sum in thread order."""
import subprocess
import sys

import pytest

from domain.paths import REPO_ROOT

pytestmark = pytest.mark.slow

TRAIN = """
import hashlib
from datetime import timedelta
from tests.models.recommender.conftest import tiny_shop_frames, START
from models.recommender.data import history_from_frames
from models.recommender.config import RecommenderConfig
from models.recommender.train import meta_train
lines, orders, daily, catalogue = tiny_shop_frames(customers=600, items=400, days=150)
shop = history_from_frames(lines, orders, daily, catalogue, end=START + timedelta(days=149))
trained = meta_train(shop.until(shop.run_date - timedelta(days=20)),
                     RecommenderConfig(outer_steps=20, seed=1), log=None)
digest = hashlib.sha256()
for name, value in sorted(trained.model.state_dict().items()):
    digest.update(value.numpy().tobytes())
print(digest.hexdigest())
"""


def _train_in_a_new_process() -> str:
    out = subprocess.run([sys.executable, "-c", TRAIN], capture_output=True, text=True,
                         cwd=REPO_ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT),
                                             "OMP_NUM_THREADS": "2", "HOME": "/tmp"})
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()[-1]


def test_the_same_seed_trains_the_same_recommender_in_another_process():
    assert _train_in_a_new_process() == _train_in_a_new_process()
