"""Hostile and malformed input: mappings that point outside their folders or carry statements,
files that are links out of the landing folder or random bytes. Each is refused with a message
naming the file or field, and nothing in the warehouse changes."""
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from domain.text import printable
from pipeline.settings import Settings
from sources.config import load_source_config
from sources.landing import SourceFileError, _scratch_connection, read_catalogue, read_day
from tests.conftest import TINY_HEADER, write_day, write_tiny_source

D = date(2025, 3, 1)
GOOD_ROW = "1,10001,OK,1,1.00,2025-03-01T10:00:00Z,1,DE"


def hostile_mapping(tmp_path: Path, **changes) -> Path:
    """The tiny mapping with some fields replaced (nested dicts merged one level deep)."""
    path = write_tiny_source(tmp_path)
    raw = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) and key in raw else value
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("changes, field, words", [
    ({"file_pattern": "../{date}.csv"}, "file_pattern", "inside the landing folder"),
    ({"file_pattern": "/etc/{date}"}, "file_pattern", "inside the landing folder"),
    ({"file_pattern": "sales.csv"}, "file_pattern", "{date} exactly once"),
    ({"date_format": "%Y/%m/%d"}, "date_format", "inside the landing folder"),
    ({"date_format": "%H"}, "date_format", "read back a date"),
    ({"timestamp": {"timezone": "Mars/Olympus"}}, "timestamp.timezone", "unknown time zone"),
    ({"business_timezone": "Europe/Nowhere"}, "business_timezone", "unknown time zone"),
    ({"timestamp": {"format": "%Q"}}, "timestamp.format", "bad format"),
    ({"rules": {"cancellation": "true; DELETE FROM raw.order_lines"}}, "rules.cancellation",
     "not one SQL expression"),
    ({"rules": {"product": "(SELECT count(*) FROM read_text('/etc/passwd')) > 0"}},
     "rules.product", "subquery"),
    ({"rules": {"product": "no_such_column = 1"}}, "rules.product", "canonical columns"),
    ({"columns": {"order_id": "Invoice", "item_id": "Sku", "quantity": "Qty",
                  "unit_price": "Price", "ordered_at": "At",
                  "store": {"sql": "(SELECT content FROM read_text('/etc/passwd'))"}}},
     "columns.store", "subquery"),
    ({"columns": {"order_id": "Invoice", "item_id": "Sku", "quantity": "Qty",
                  "unit_price": "Price", "ordered_at": "At",
                  "store": {"sql": "1) FROM src; COPY (SELECT 1) TO 'x.csv'; SELECT (1"}}},
     "columns.store", "not one SQL expression"),
    ({"catalogue": {"file": "../../etc/passwd", "columns": {"item_id": "Sku"}}},
     "catalogue.file", "inside the landing folder"),
])
def test_a_mapping_is_fully_validated_when_loaded(tmp_path, changes, field, words):
    path = hostile_mapping(tmp_path, **changes)
    with pytest.raises(ValueError) as caught:
        load_source_config(path)
    message = str(caught.value)
    assert str(path) in message and field in message and words in message, message


def test_a_landing_folder_outside_the_allowed_folders_is_refused(tmp_path, monkeypatch):
    from pipeline.context import RunContext

    for landing in ("/etc", str(tmp_path / "maps" / ".." / "elsewhere")):
        path = hostile_mapping(tmp_path / "maps", landing_dir=landing)
        monkeypatch.setenv("SHOPCAST_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("SHOPCAST_SOURCE_CONFIG", str(path))
        with pytest.raises(ValueError, match="outside the folders sources may read") as caught:
            RunContext.build(Settings())
        assert str(path) in str(caught.value) and "SHOPCAST_LANDING_ROOTS" in str(caught.value)
    # an operator may add the folder
    monkeypatch.setenv("SHOPCAST_LANDING_ROOTS", f'["{tmp_path / "elsewhere"}"]')
    assert RunContext.build(Settings()).source.landing_dir == landing


def test_a_landing_file_that_links_outside_the_folder_is_not_read(tiny_source, tmp_path):
    cfg, landing = tiny_source
    secret = tmp_path / "secret.csv"
    secret.write_text(TINY_HEADER + "root:x:0:0:root:/root:/bin/bash\n")
    link = landing / f"sales_{D.isoformat()}.csv"
    link.symlink_to(secret)
    with pytest.raises(SourceFileError, match="refused, a link to") as caught:
        read_day(cfg, D, cfg.files_for(D, tmp_path / "data"))
    assert "root:x" not in str(caught.value)


def test_computed_columns_run_where_no_file_can_be_read_or_written(tmp_path):
    con = _scratch_connection()
    for statement in ("SELECT * FROM read_text('/etc/passwd')",
                      f"COPY (SELECT 1) TO '{tmp_path / 'x.csv'}'",
                      "SET enable_external_access = true"):
        with pytest.raises(duckdb.Error):
            con.execute(statement)
    assert not (tmp_path / "x.csv").exists()


def test_a_rule_that_would_delete_raw_rows_is_refused_and_nothing_changes(tmp_path, monkeypatch):
    from pipeline.context import RunContext
    from tests.conftest import promote_tiny_days, tiny_environment

    with tiny_environment(tmp_path) as (settings, cfg, landing):
        promote_tiny_days(settings, landing, {D: [GOOD_ROW]})
        mapping = settings.source_config
        text = mapping.read_text().replace(
            "cancellation: \"starts_with(order_id, 'C') OR quantity < 0\"",
            "cancellation: \"quantity < 0) AS c FROM raw.order_lines; "
            "DELETE FROM raw.order_lines; SELECT (true\"")
        assert text != mapping.read_text()
        mapping.write_text(text)
        with pytest.raises(ValueError, match="rules.cancellation"):
            RunContext.build(Settings())
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM raw.order_lines").fetchone()[0] == 1


def test_catalogue_column_names_carrying_sql_are_quoted(tmp_path, data_dir):
    evil = 'Sku"; COPY (SELECT 1) TO \'owned.csv\'; --'
    path = hostile_mapping(tmp_path, catalogue={"file": "catalogue.csv",
                                                "columns": {"item_id": evil, "item_name": "Name"}})
    cfg = load_source_config(path)
    quoted = '"' + evil.replace('"', '""') + '"'
    (cfg.landing_path(data_dir) / "catalogue.csv").write_text(f'{quoted},Name\n10001,Mug\n')
    table = read_catalogue(cfg, data_dir)
    assert table.to_pylist()[0]["item_id"] == "10001"
    assert not list(tmp_path.rglob("owned.csv")) and not Path("owned.csv").exists()


def test_rows_that_do_not_split_into_the_header_are_quarantined_by_line(tiny_source):
    cfg, landing = tiny_source
    f = write_day(landing, D, [GOOD_ROW, "root:x:0:0:root", GOOD_ROW.replace("1,", "3,", 1),
                               GOOD_ROW + ",extra,columns", GOOD_ROW.replace("1,", "5,", 1)])
    batch = read_day(cfg, D, [f])
    assert batch.lines.column("line_no").to_pylist() == [1, 3, 5]
    malformed = {r["line_no"]: r for r in batch.quarantine.to_pylist()}
    assert set(malformed) == {2, 4} and {r["rule"] for r in malformed.values()} == {"malformed_row"}
    assert "root:x:0:0:root" in malformed[2]["raw_record"]  # kept whole for reprocessing
    assert batch.files[0].rows == batch.lines.num_rows + batch.quarantine.num_rows == 5


def test_random_bytes_give_an_escaped_short_message(tiny_source):
    cfg, landing = tiny_source
    f = landing / f"sales_{D.isoformat()}.csv"
    f.write_bytes(b"\x1b[31m\x00\xff\xfe" + bytes(range(256)) * 40)
    with pytest.raises(SourceFileError) as caught:
        read_day(cfg, D, [f])
    message = str(caught.value)
    assert message.startswith(str(f)) and len(message) < 600
    assert message.isprintable(), message


def test_a_ledger_message_is_stored_escaped_and_cut(settings):
    from warehouse import db, ledger

    with db.writer(settings) as con:
        ledger.set_state(con, D, ledger.DayState.failed, "ingest", "bad \x1b[2J\x00 " + "x" * 5000)
        message = ledger.records(con, D, D)[D].message
    assert "\x1b" not in message and "\\x1b" in message and len(message) < 2100
    assert printable("a\x00b") == "a\\x00b"


@pytest.mark.parametrize("data_dir", ["/", "/etc", "/usr/share/shopcast", "~"])
def test_a_system_folder_is_not_a_data_directory(monkeypatch, data_dir):
    monkeypatch.setenv("SHOPCAST_DATA_DIR", data_dir)
    with pytest.raises(ValueError, match="not a data directory"):
        Settings()


@pytest.mark.parametrize("text", ["2025-02-30", "2025-13-45", "2025-03-01; rm -rf /",
                                  "$(reboot)", "20250301"])
def test_run_dates_are_parsed_strictly(text, data_dir):
    from typer.testing import CliRunner

    from flows.cli import app

    for command in (["daily", "--date", text], ["backfill", "--start", text, "--end", text],
                    ["skip", text, "--reason", "x"]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 2 and "Invalid value" in result.output, result.output
    assert not data_dir.exists()  # refused before anything was recorded
