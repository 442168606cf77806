from datetime import date, datetime, timezone

import pytest

from domain.paths import REPO_ROOT
from sources.config import Calendar, load_source_config


def test_online_retail_mapping_loads_and_finds_305_days(online_retail_dir, monkeypatch):
    monkeypatch.setenv("SHOPCAST_ONLINE_RETAIL_DIR", str(online_retail_dir))
    cfg = load_source_config(REPO_ROOT / "configs/sources/online_retail.yaml")
    assert cfg.calendar == Calendar.trading_days
    days = cfg.dates_in_landing(REPO_ROOT / "data")
    assert len(days) == 305
    assert days[0] == date(2010, 12, 1) and days[-1] == date(2011, 12, 9)
    assert cfg.files_for(date(2010, 12, 4), REPO_ROOT) == []  # a Saturday: no trading
    assert [p.name for p in cfg.files_for(date(2010, 12, 1), REPO_ROOT)] == ["2010-12-01.csv"]


def test_synthetic_mapping_points_into_the_data_dir(tmp_path):
    cfg = load_source_config(REPO_ROOT / "configs/sources/synthetic.yaml")
    assert cfg.landing_path(tmp_path) == tmp_path / "landing" / "synthetic"
    assert cfg.catalogue is not None


def test_several_files_per_day_and_dates_from_names(tiny_source):
    cfg, landing = tiny_source
    landing.mkdir(parents=True, exist_ok=True)
    for name in ["sales_2025-03-01_a.csv", "sales_2025-03-01_b.csv", "sales_2025-03-02.csv", "notes.txt"]:
        (landing / name).write_text("x")
    assert [p.name for p in cfg.files_for(date(2025, 3, 1), landing.parent)] == [
        "sales_2025-03-01_a.csv", "sales_2025-03-01_b.csv"]
    assert cfg.dates_in_landing(landing.parent) == [date(2025, 3, 1), date(2025, 3, 2)]


def test_run_date_is_the_business_day_before_the_run(tiny_source):
    cfg, _ = tiny_source
    # 00:30 UTC on 2 March is 01:30 in Berlin: the run processes 1 March
    assert cfg.default_run_date(datetime(2025, 3, 2, 0, 30, tzinfo=timezone.utc)) == date(2025, 3, 1)
    # 23:30 UTC on 1 March is already 2 March in Berlin
    assert cfg.default_run_date(datetime(2025, 3, 1, 23, 30, tzinfo=timezone.utc)) == date(2025, 3, 1)
    assert cfg.missing_file_deadline(date(2025, 3, 1)).isoformat() == "2025-03-02T06:00:00+01:00"


_MAPPED = ("name: x\nlanding_dir: .\nfile_pattern: '{date}.csv'\ncolumns: {order_id: a, item_id: b, "
           "quantity: c, unit_price: d, ordered_at: e}\n")


@pytest.mark.parametrize("body, message", [
    ("name: x\nlanding_dir: .\nfile_pattern: '{date}.csv'\ncolumns: {order_id: a}\n",
     "required canonical columns not mapped"),
    ("name: x\nlanding_dir: .\nfile_pattern: '{date}.csv'\ncolumns: {order_id: a, item_id: b, "
     "quantity: c, unit_price: d, ordered_at: e, colour: f}\n", "unknown canonical columns"),
    ("- just\n- a list\n", "must be a YAML mapping"),
    # a misspelt key used to be dropped, leaving its default in force without a word
    (f"{_MAPPED}date_fromat: '%Y%m%d'\n", "date_fromat"),
    (f"{_MAPPED}rules: {{cancelation: 'quantity < 0'}}\n", "rules.cancelation"),
    (f"{_MAPPED}csv: {{delimeter: ';'}}\n", "csv.delimeter"),
    (f"{_MAPPED}timestamp: {{zone: UTC}}\n", "timestamp.zone"),
    (f"{_MAPPED}format: parqet\n", "format"),
])
def test_invalid_mappings_name_the_file_and_the_problem(tmp_path, body, message):
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(ValueError, match=message) as err:
        load_source_config(path)
    assert str(path) in str(err.value)
