"""The one configuration object, as the environment sets it: a misspelt variable is caught."""
import logging

import pytest

from models.forecaster.config import ForecasterConfig
from pipeline import settings as settings_module
from pipeline.settings import Settings


def test_a_model_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHOPCAST_FORECASTER__BOOSTED_CANDIDATE", "false")
    monkeypatch.setenv("SHOPCAST_RECOMMENDER__OUTER_STEPS", "7")
    s = Settings()
    assert (s.forecaster.boosted_candidate, s.recommender.outer_steps) == (False, 7)


@pytest.mark.parametrize("var, named", [
    ("SHOPCAST_FORECASTER__BOOSTED_CANDIDAT", "SHOPCAST_FORECASTER__BOOSTED_CANDIDATE"),
    ("SHOPCAST_RECOMMENDER__TWOSTAGE", "SHOPCAST_RECOMMENDER__TWO_STAGE"),
])
def test_a_misspelt_model_setting_is_refused_naming_it(monkeypatch, var, named):
    """It used to be dropped, and the candidate it meant to switch off trained anyway."""
    monkeypatch.setenv(var, "false")
    with pytest.raises(ValueError, match=f"{var}: not a setting.*did you mean {named}"):
        Settings()


def test_a_config_object_handed_in_is_taken_as_it_is():
    assert Settings(forecaster=ForecasterConfig(hidden=8)).forecaster.hidden == 8


def test_a_near_miss_of_a_setting_is_warned_about_once_and_others_left_alone(monkeypatch, caplog):
    monkeypatch.setattr(settings_module, "_WARNED", set())
    monkeypatch.setenv("SHOPCAST_DATA_DRI", "/tmp/elsewhere")
    monkeypatch.setenv("SHOPCAST_ONLINE_RETAIL_DIR", "/tmp/or")  # a mapping's own variable
    with caplog.at_level(logging.WARNING, logger="shopcast"):
        Settings()
        Settings()
    warned = [r.getMessage() for r in caplog.records]
    assert warned == ["SHOPCAST_DATA_DRI is not a setting; did you mean SHOPCAST_DATA_DIR?"]
