import json
from datetime import date, timedelta

import numpy as np
import pytest

from models import registry
from models.forecaster.predict import forecast


def test_save_load_round_trip_gives_the_same_forecast(tmp_path, panel, trained):
    path = registry.save(trained, tmp_path)
    assert path.name == trained.version == registry.version_of(trained)
    loaded = registry.load(path)
    history = panel.until(date.fromisoformat(trained.train_end))
    np.testing.assert_array_equal(forecast(trained, history).quantiles,
                                  forecast(loaded, history).quantiles)
    assert loaded.train_end == trained.train_end and loaded.data_checksum == trained.data_checksum


def test_point_in_time_staleness_and_data_changes(saved, tiny_config):
    end = saved.end

    def pick(run_date, cfg=tiny_config):
        return registry.usable_for(saved.models_dir, run_date, cfg, saved.checksum_at)

    assert pick(end).train_end == end
    assert pick(end + timedelta(days=7)) is not None
    assert pick(end + timedelta(days=8)) is None          # stale: retrain
    assert pick(end - timedelta(days=1)) is None          # trained on days after the run date
    assert pick(end, tiny_config.model_copy(update={"hidden": 64})) is None  # other config
    saved.current[end] = "reprocessed"
    assert pick(end) is None                               # its window's data changed since


def test_a_retrain_asked_for_makes_the_models_trained_by_that_day_unusable_after_it(saved, tiny_config):
    end = saved.end

    def pick(run_date, asked):
        return registry.usable_for(saved.models_dir, run_date, tiny_config, saved.checksum_at,
                                   not_trained_by=asked)

    assert pick(end + timedelta(days=3), asked=None).train_end == end
    assert pick(end + timedelta(days=3), asked=end + timedelta(days=1)) is None   # after the request
    assert pick(end + timedelta(days=3), asked=end - timedelta(days=1)).train_end == end  # trained after it


def test_weights_that_do_not_fit_the_network_name_the_file(tmp_path, trained):
    """An artifact saved by older code (other inputs, another size) is refused with its path,
    not with torch's bare size mismatch."""
    path = registry.save(trained, tmp_path)
    card = json.loads((path / registry.CARD).read_text())
    card["config"]["hidden"] = trained.config.hidden * 2
    (path / registry.CARD).write_text(json.dumps(card))
    with pytest.raises(ValueError, match=f"{path / registry.WEIGHTS}.*do not fit"):
        registry.load(path)


def test_the_pooled_network_trained_with_a_model_is_saved_and_served_under_its_version(
        tmp_path, panel, trained):
    """A forecaster registered with its pooled network loads both; the pooled one forecasts
    without adaptation under ``<version>+pooled``; a model without one says so."""
    from dataclasses import replace

    from models.forecaster.train import meta_train

    with_pooled = replace(trained, pooled=meta_train(
        panel.until(date.fromisoformat(trained.train_end)),
        trained.config.model_copy(update={"mode": "pooled"}), log=None).model)
    loaded = registry.load(registry.save(with_pooled, tmp_path))
    pooled = loaded.as_pooled()
    assert pooled.version == f"{loaded.version}+pooled" and pooled.config.mode == "pooled"
    history = panel.until(date.fromisoformat(trained.train_end))
    np.testing.assert_array_equal(forecast(pooled, history).mean,
                                  forecast(with_pooled.as_pooled(), history).mean)
    assert not np.array_equal(forecast(pooled, history).mean, forecast(loaded, history).mean)
    with pytest.raises(ValueError, match="without a pooled network"):
        trained.as_pooled()


@pytest.mark.parametrize("damage", ["truncate", "replace", "card"])
def test_a_corrupt_artifact_is_quarantined_and_the_next_valid_model_or_a_training_serves(
        saved, tiny_config, trained, damage):
    path = saved.models_dir / "forecaster" / trained.version
    weights = path / registry.WEIGHTS
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    elif damage == "replace":  # other bytes of the same length
        weights.write_bytes(bytes(b ^ 1 for b in weights.read_bytes()))
    else:
        (path / registry.CARD).write_text('{"kind": "forecaster", "vers')
    with pytest.raises(registry.CorruptArtifact) as caught:
        registry.load(path)
    assert str(path / (registry.CARD if damage == "card" else registry.WEIGHTS)) in str(caught.value)

    trainings = []

    def train(start_from, why):
        trainings.append(why)
        return trained

    model, trained_now = registry.PointInTime(saved.models_dir, tiny_config).model_for(
        saved.end, saved.checksum_at, train)
    assert trained_now and trainings and model.version == trained.version  # trained again
    quarantined = list((saved.models_dir / "forecaster" / registry.QUARANTINE).iterdir())
    assert len(quarantined) == 1 and (quarantined[0] / "reason.txt").read_text().startswith(str(path))
    registry.load(path)  # the new artifact is whole


def test_a_pickle_that_would_run_code_is_refused(saved, trained, tmp_path):
    import pickle

    class Payload:
        def __reduce__(self):
            return (open, (str(tmp_path / "owned"), "w"))

    path = saved.models_dir / "forecaster" / trained.version
    card = json.loads((path / registry.CARD).read_text())
    del card["files"]  # as an artifact from before checksums: only weights_only stands guard
    (path / registry.CARD).write_text(json.dumps(card))
    (path / registry.WEIGHTS).write_bytes(pickle.dumps(Payload()))
    with pytest.raises(registry.CorruptArtifact, match="not a readable state dict"):
        registry.load(path)
    assert not (tmp_path / "owned").exists()


def test_a_card_with_a_field_since_removed_still_loads_and_a_misspelt_field_is_refused(
        tmp_path, trained):
    """The configs refuse fields they do not know (a misspelling would leave the default in
    force unsaid); a model registered by earlier code, whose card holds a field this code no
    longer has, still loads under its own version."""
    path = registry.save(trained, tmp_path)
    card = json.loads((path / registry.CARD).read_text())
    card["config"]["a_field_since_removed"] = 3
    (path / registry.CARD).write_text(json.dumps(card))
    loaded = registry.load(path)
    assert loaded.version == trained.version and loaded.config == trained.config
    with pytest.raises(ValueError, match="hiden"):
        type(trained.config)(**{**trained.config.model_dump(), "hiden": 64})
