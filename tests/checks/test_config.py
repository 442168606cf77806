"""The gate's thresholds file: per-source overrides, and mistakes refused naming file and field."""
from pathlib import Path

import pytest

from checks.config import load_quality_config

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "quality.yaml"
    path.write_text(text)
    return path


def test_a_source_overrides_the_defaults_and_others_keep_them(tmp_path):
    path = _write(tmp_path, "defaults:\n  raw: {max_bad_row_share: 0.1}\n"
                            "sources:\n  acme:\n    raw: {max_no_customer_share_increase: 0.8}\n")
    acme, other = load_quality_config(path, "acme"), load_quality_config(path, "other")
    assert (acme.raw.max_bad_row_share, acme.raw.max_no_customer_share_increase) == (0.1, 0.8)
    assert (other.raw.max_bad_row_share, other.raw.max_no_customer_share_increase) == (0.1, 0.35)


@pytest.mark.parametrize("text, named", [
    # a misspelt threshold used to be dropped silently, leaving the default in force
    ("sources:\n  acme:\n    raw: {max_no_customer_share_increse: 0.8}\n",
     "raw.max_no_customer_share_increse"),
    ("defaults:\n  rwa: {max_bad_row_share: 0.1}\n", "rwa"),
    ("default:\n  raw: {max_bad_row_share: 0.1}\n", "unknown top-level key(s) default"),
    ("defaults:\n  raw: {max_bad_row_share: lots}\n", "raw.max_bad_row_share"),
])
def test_a_mistake_is_refused_naming_the_file_and_the_field(tmp_path, text, named):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError) as error:
        load_quality_config(path, "acme")
    assert str(path) in str(error.value) and named in str(error.value)


def test_a_mistake_under_another_source_is_refused_now(tmp_path):
    """Not months later, when that source first runs."""
    path = _write(tmp_path, "sources:\n  acme: {}\n  other:\n    raw: {volume_max_ratoi: 20}\n")
    with pytest.raises(ValueError, match=r"(?s)for other:.*raw.volume_max_ratoi"):
        load_quality_config(path, "acme")


def test_the_shipped_thresholds_load_for_every_source():
    for name in ("synthetic", "online_retail"):
        assert load_quality_config(REPO / "configs" / "quality.yaml", name).raw
