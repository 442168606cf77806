"""LightGBM models compiled to machine code (``trees.compiled``): LightGBM's own scores, missing
values and one-leaf trees included; each model compiled once per machine and loaded from the
cache after, a damaged cached binary compiled again instead of crashing the run; and the inputs
check of ``trees.booster`` kept."""
import os

import numpy as np
import pytest

from models import trees

INPUTS = ["a", "b", "c", "d"]


def _model(y_of=lambda x: np.nan_to_num(x[:, 0]) * 2 + (x[:, 1] > 0.5), rounds: int = 30) -> str:
    import lightgbm

    rng = np.random.default_rng(0)
    x = rng.random((2000, len(INPUTS)))
    x[rng.random(x.shape) < 0.2] = np.nan  # LightGBM's missing-value branches must hold
    data = lightgbm.Dataset(x, y_of(x), feature_name=INPUTS)
    params = {"objective": "regression", "num_leaves": 15, "min_data_in_leaf": 20, "verbose": -1,
              "seed": 0, "deterministic": True, "num_threads": 1}
    return lightgbm.train(params, data, num_boost_round=rounds).model_to_string()


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    trees._compile.cache_clear()
    yield tmp_path / "shopcast" / "trees"
    trees._compile.cache_clear()


@pytest.mark.parametrize("y_of", [None, lambda x: np.ones(len(x))], ids=["splits", "one-leaf"])
def test_compiled_scores_are_lightgbms(y_of):
    model = _model(*([y_of] if y_of else []))
    x = np.random.default_rng(1).random((5000, len(INPUTS)))
    x[::7, 0] = np.nan
    x[::11, 1] = np.nan
    expected = trees.booster(model, INPUTS, "test trees").predict(x)
    got = trees.compiled(model, INPUTS, "test trees").predict(x.astype(np.float32), num_threads=2)
    if y_of is None:
        assert np.std(expected) > 0  # the trees do split on this data
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)


def test_a_model_compiles_once_then_loads_from_the_cache(cache, monkeypatch):
    import lleaves

    compiles = []
    real = lleaves.Model.compile

    def recorded(self, cache=None, **kwargs):
        compiles.append(cache is not None and os.path.exists(cache))
        return real(self, cache=cache, **kwargs)

    monkeypatch.setattr(lleaves.Model, "compile", recorded)
    model, other = _model(), _model(rounds=10)
    trees.compiled(model, INPUTS, "test trees")
    trees.compiled(model, INPUTS, "test trees")  # the same process: compiled once
    trees._compile.cache_clear()  # as a new process: loaded from the file
    x = np.random.default_rng(2).random((100, len(INPUTS)))
    loaded = trees.compiled(model, INPUTS, "test trees").predict(x)
    trees.compiled(other, INPUTS, "test trees")
    assert compiles == [False, True, False]  # compiled, loaded, another model compiled
    assert len(list(cache.glob("*.o"))) == 2 and not list(cache.glob("*.part"))
    np.testing.assert_allclose(loaded, trees.booster(model, INPUTS, "t").predict(x), rtol=1e-6)


@pytest.mark.parametrize("damage", ["cut short", "a byte changed"])
def test_a_damaged_cached_binary_is_compiled_again(cache, caplog, damage):
    # LLVM aborts the process on a file cut short ("section header table goes past the end of
    # the file") and loads one with a changed byte in its code without a word: neither may reach
    # lleaves
    model = _model()
    trees.compiled(model, INPUTS, "test trees")
    [binary] = cache.glob("*.o")
    data = bytearray(binary.read_bytes())
    if damage == "cut short":
        del data[len(data) // 2:]
    else:
        data[len(data) // 2] ^= 0xFF
    binary.write_bytes(bytes(data))
    trees._compile.cache_clear()  # as a new process
    x = np.random.default_rng(4).random((100, len(INPUTS)))
    got = trees.compiled(model, INPUTS, "test trees").predict(x)
    np.testing.assert_allclose(got, trees.booster(model, INPUTS, "t").predict(x), rtol=1e-6)
    assert "damaged" in caplog.text and str(binary) in caplog.text
    [again] = cache.glob("*.o")
    assert again.read_bytes() != bytes(data)  # the damaged file replaced by a new compilation


def test_a_cache_that_cannot_be_written_still_compiles(cache, monkeypatch, tmp_path):
    (tmp_path / "shopcast").write_text("a file where the cache folder would be")
    x = np.random.default_rng(3).random((100, len(INPUTS)))
    model = _model()
    got = trees.compiled(model, INPUTS, "test trees").predict(x)
    np.testing.assert_allclose(got, trees.booster(model, INPUTS, "t").predict(x), rtol=1e-6)


def test_trees_trained_on_other_inputs_are_refused_by_name():
    model = _model()
    for load in (trees.booster, trees.compiled):
        with pytest.raises(ValueError, match=r"test trees: .*missing e"):
            load(model, INPUTS + ["e"], "test trees")
