"""The daily and backfill flows end to end on a small synthetic shop, under a Prefect test server."""
from __future__ import annotations

from datetime import date, timedelta

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from domain.paths import REPO_ROOT
from flows.backfill import backfill
from flows.cli import app
from flows.daily import daily
from pipeline.context import DayBlocked, DayFailed
from pipeline.definition import consecutive_windows
from pipeline.settings import Settings
from pipeline.stages import days_with_quarantine, mark_skipped
from sources.config import load_source_config
from sources.synthetic import ShopConfig, generate
from warehouse import db, ledger, publish
from warehouse.checksums import mart_checksums, table_checksum
from warehouse.tables import PREDICTION_TABLES

pytestmark = pytest.mark.slow
SHOP = ShopConfig(seed=21, days=68, lines_per_day=250, initial_items=120, initial_customers=250,
                  customer_joins_per_day=2, item_launches_per_day=0.5)
START = SHOP.start_date
DAY = [START + timedelta(days=i) for i in range(SHOP.days)]


@pytest.fixture(scope="module")
def shop(tmp_path_factory, prefect_harness):
    root = tmp_path_factory.mktemp("e2e")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHOPCAST_DATA_DIR", str(root / "data"))
        mp.setenv("SHOPCAST_SOURCE_CONFIG", str(REPO_ROOT / "configs/sources/synthetic.yaml"))
        # small networks, and the first meta-trainings on day 56 (the forecaster's earliest);
        # the shop is too short for a backtest (D - 28 has under 56 days), so the networks
        # serve as the gate's first champion: the flows publish what a network predicts
        for key, value in {"MIN_HISTORY_DAYS": 56, "OUTER_STEPS": 15, "TASKS_PER_STEP": 64,
                           "HIDDEN": 32, "EMBEDDING": 16, "GATE_FIRST_CHAMPION": "network"}.items():
            mp.setenv(f"SHOPCAST_FORECASTER__{key}", str(value))
        for key, value in {"MIN_HISTORY_DAYS": 56, "OUTER_STEPS": 15, "TASKS_PER_STEP": 32,
                           "HIDDEN": 16, "EMBEDDING": 8, "CONTENT": 8,
                           "GATE_FIRST_CHAMPION": "network"}.items():
            mp.setenv(f"SHOPCAST_RECOMMENDER__{key}", str(value))
        settings = Settings()
        cfg = load_source_config(settings.source_config)
        generate(SHOP, cfg.landing_path(settings.root), settings.root / "truth")
        yield settings, cfg


def _state(settings):
    with db.reader(settings) as con:
        return mart_checksums(con), table_checksum(con, "raw.order_lines")


def _predictions(settings, table="forecasts"):
    with db.reader(settings) as con:
        return table_checksum(con, f"predictions.{table}"), dict(con.execute(
            f"SELECT run_date, any_value(model_version) FROM predictions.{table} GROUP BY 1").fetchall())


def test_backfilling_60_days_twice_gives_identical_marts(shop):
    settings, _ = shop
    first = backfill(start=DAY[0], end=DAY[59])
    assert first["done"] == DAY[:60] and first["failed"] is None
    marts, raw_lines = _state(settings)
    assert set(marts) >= {"fct_item_daily_demand", "fct_customer_item_daily", "fct_customer_daily",
                          "daily_line_counts", "item_features", "customer_features"}
    assert all(rows > 0 for rows, _ in marts.values())

    again = backfill(start=DAY[0], end=DAY[59])  # complete days are skipped
    assert again["done"] == []
    forecasts, versions = _predictions(settings)
    assert set(versions) == set(DAY[:60])  # every run date has forecasts
    assert {versions[d] for d in DAY[:55]} == {"baseline-ses-alpha0.1"}  # too little history
    model = versions[DAY[55]]
    assert model.startswith(f"forecaster-maml-{DAY[55]}-")  # meta-trained on days up to D
    assert {versions[d] for d in DAY[55:60]} == {model}    # reused while fresh
    with db.reader(settings) as con:  # the gate decided once, at the retrain, and said why
        gate = con.execute("SELECT run_date, model, winner FROM ops.model_gate ORDER BY 1, 2").fetchall()
    assert gate == [(DAY[55], "forecaster", "network"), (DAY[55], "recommender", "network")]
    summary = (settings.reports_dir / f"run_date={DAY[57]}" / "summary.md").read_text()
    assert "## Which model serves (the gate)" in summary and "no backtest yet" in summary
    page = (settings.reports_dir / "index.html").read_text()  # the morning's page says it too
    serves = page[page.index(f"Which model serves ({DAY[59]})"):page.index("Over time")]
    assert serves.count("<b>network</b>") == 2 and "no backtest yet" in serves
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLUMNS", "250")
        listed = CliRunner().invoke(app, ["models", "list"], prog_name="shopcast")
    assert listed.exit_code == 0, listed.output
    assert model in listed.output and "no backtest yet" in listed.output
    forecasts_part = publish.partition_dir(settings.published_dir, "forecasts", DAY[59]) / "part-0.parquet"
    rows = pq.read_table(forecasts_part).to_pandas()
    assert len(rows) == 28 * rows["item_id"].nunique() and (rows["p10"] <= rows["p90"]).all()
    assert publish.read_latest(settings.published_dir)["tables"]["forecasts"]["rows"] == len(rows)
    lists, list_versions = _predictions(settings, "recommendations")
    assert {list_versions[d] for d in DAY[:55]} == {"baseline-recency-reorders"}
    recommender = list_versions[DAY[55]]
    assert recommender.startswith(f"recommender-maml-{DAY[55]}-")
    assert {list_versions[d] for d in DAY[55:60]} == {recommender}
    published = publish.partition_dir(settings.published_dir, "recommendations", DAY[59])
    rows = pq.read_table(published / "part-0.parquet").to_pandas()
    # the contract's columns and types (docs/evaluation.md), in the published order
    for table, part in (("recommendations", published / "part-0.parquet"), ("forecasts", forecasts_part)):
        schema = pq.read_schema(part)
        assert [(f.name, f.type) for f in schema] == [
            (f.name, f.type) for f in PREDICTION_TABLES[f"predictions.{table}"]], table
    assert rows[["customer_id", "rank"]].equals(
        rows[["customer_id", "rank"]].sort_values(["customer_id", "rank"], ignore_index=True))
    per_customer = rows.groupby("customer_id")["item_id"].agg(["count", "nunique"])
    assert (per_customer["count"] == 20).all() and (per_customer["nunique"] == 20).all()
    assert set(rows["segment"]) == {"cold", "warm"}

    forced = backfill(start=DAY[0], end=DAY[59], force=True)
    assert forced["done"] == DAY[:60]
    assert _state(settings) == (marts, raw_lines)
    assert _predictions(settings) == (forecasts, versions)  # the same models, the same numbers
    assert _predictions(settings, "recommendations") == (lists, list_versions)

    # one command puts back what served before, point in time, and one undoes it
    rolled = CliRunner().invoke(app, ["models", "rollback", "forecaster", "--from", str(DAY[59])],
                                prog_name="shopcast")
    assert rolled.exit_code == 0 and "baseline-ses-alpha0.1 serves again" in rolled.output, rolled.output
    backfill(start=DAY[59], end=DAY[59], force=True)
    assert _predictions(settings)[1][DAY[59]] == "baseline-ses-alpha0.1"
    assert _predictions(settings)[1][DAY[58]] == model  # the days before are left as they were
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLUMNS", "300")  # the refusal on one line
        early = CliRunner().invoke(app, ["models", "promote", "forecaster", model, "--from",
                                         str(DAY[50])], prog_name="shopcast")
    assert early.exit_code != 0 and f"trained on data up to {DAY[55]}" in early.output
    back = CliRunner().invoke(app, ["models", "promote", "forecaster", model, "--from", str(DAY[59])],
                              prog_name="shopcast")
    assert back.exit_code == 0, back.output
    backfill(start=DAY[59], end=DAY[59], force=True)
    assert _predictions(settings) == (forecasts, versions)


def test_daily_publishes_and_a_bad_redelivery_changes_nothing(shop, webhook, monkeypatch):
    settings, cfg = shop
    url, alerts = webhook
    monkeypatch.setenv("SHOPCAST_ALERT_WEBHOOK", url)
    report = daily(run_date=DAY[60])
    assert report["lines"] > 0
    assert publish.read_latest(settings.published_dir)["run_date"] == DAY[60].isoformat()
    published = publish.partition_dir(settings.published_dir, "daily_summary", DAY[60]) / "part-0.parquet"
    published_bytes = published.read_bytes()
    marts, raw_lines = _state(settings)
    latest = (settings.published_dir / "latest.json").read_bytes()
    again = daily(run_date=DAY[60])  # the same inputs: nothing to do
    assert again["unchanged"] and (settings.published_dir / "latest.json").read_bytes() == latest

    # DAY[60] is delivered again, broken: a renamed column
    for f in cfg.files_for(DAY[60], settings.root):
        text = f.read_text()
        f.write_text(text.replace("created_at", "created", 1))
    with pytest.raises(DayFailed, match="ordered_at <- 'created_at'"):
        daily(run_date=DAY[60])
    assert _state(settings) == (marts, raw_lines)
    assert published.read_bytes() == published_bytes
    with db.reader(settings) as con:
        record = ledger.records(con)[DAY[60]]
    assert (record.status, record.stage) == ("failed", "ingest")
    failed_report = settings.reports_dir / f"run_date={DAY[60]}" / "failed.md"
    assert "ordered_at <- 'created_at'" in failed_report.read_text()
    # the operators were told, and the morning's page shows it
    failed = [a for a in alerts if a["event"] == "day_failed"]
    assert len(failed) == 1 and failed[0]["run_date"] == str(DAY[60])
    assert "ordered_at <- 'created_at'" in failed[0]["body"] and failed[0]["source"] == "synthetic"
    page = (settings.reports_dir / "index.html").read_text()
    assert "failed at ingest" in page and str(DAY[60]) in page

    # the next day waits for it, until the operator skips it
    with pytest.raises(DayBlocked, match=f"{DAY[60]} failed at stage ingest"):
        daily(run_date=DAY[61])
    assert alerts[-1]["event"] == "day_failed" and f"{DAY[60]} failed" in alerts[-1]["body"]
    mark_skipped(settings, [DAY[60]], "re-delivery broken, original rows kept")
    assert daily(run_date=DAY[61])["run_date"] == DAY[61].isoformat()
    assert publish.read_latest(settings.published_dir)["run_date"] == DAY[61].isoformat()


def test_backfill_stops_at_a_failed_day_and_resumes_after_the_fix(shop):
    settings, cfg = shop
    broken = cfg.files_for(DAY[62], settings.root)[0]
    good_text = broken.read_text()
    broken.write_bytes(b"")  # an empty file
    with pytest.raises(DayFailed, match=f"stopped: {DAY[62]} failed at stage ingest: .*empty"):
        backfill(start=DAY[62], end=DAY[63])
    with db.reader(settings) as con:
        records = ledger.records(con, DAY[62], DAY[63])
    assert records[DAY[62]].status == "failed" and DAY[63] not in records

    broken.write_text(good_text)
    resumed = backfill(start=DAY[62], end=DAY[63])
    assert resumed["done"] == [DAY[62], DAY[63]]


def test_the_daily_run_catches_up_the_days_it_missed(shop, monkeypatch):
    settings, _ = shop  # DAY[64] was never run: the server was down, say
    monkeypatch.setenv("SHOPCAST_CATCH_UP_MAX_DAYS", "0")
    with pytest.raises(DayBlocked, match=f"run: shopcast backfill --start {DAY[64]} --end {DAY[65]}"):
        daily(run_date=DAY[65])
    with db.reader(settings) as con:
        assert not set(ledger.records(con, DAY[64], DAY[65]))  # refused before anything ran
    monkeypatch.delenv("SHOPCAST_CATCH_UP_MAX_DAYS")
    report = daily(run_date=DAY[65])
    assert report["run_date"] == DAY[65].isoformat()
    with db.reader(settings) as con:
        records = ledger.records(con, DAY[64], DAY[65])
    assert {d: r.status for d, r in records.items()} == {DAY[64]: "complete", DAY[65]: "complete"}
    assert publish.read_latest(settings.published_dir)["run_date"] == DAY[65].isoformat()


def test_consecutive_windows():
    d = date(2025, 1, 1)
    days = [d, d + timedelta(1), d + timedelta(2), d + timedelta(5)]
    assert consecutive_windows(days) == [(d, d + timedelta(2)), (d + timedelta(5), d + timedelta(5))]


def test_reprocess_reruns_the_days_with_quarantined_lines(shop):
    settings, _ = shop
    with db.reader(settings) as con:
        before = con.execute("SELECT count(*) FROM raw.quarantine WHERE run_date <= ?", [DAY[2]]).fetchone()[0]
    days = days_with_quarantine(settings, DAY[0], DAY[2])
    assert before > 0 and days  # the synthetic shop's dirty rows
    result = CliRunner().invoke(app, ["reprocess", "--start", str(DAY[0]), "--end", str(DAY[2])])
    assert result.exit_code == 0, result.output
    n = len(days)
    assert f"reprocessed {n} day(s); {n} still have quarantined lines" in result.output
    with db.reader(settings) as con:  # the mapping did not change, so neither did the quarantine
        assert con.execute("SELECT count(*) FROM raw.quarantine WHERE run_date <= ?",
                           [DAY[2]]).fetchone()[0] == before
        assert {ledger.records(con)[d].status for d in days} == {"complete"}


def test_a_backfill_through_the_features_gate_stops_short_of_the_models(shop):
    """A new shop's history loaded and validated before any model runs; the days wait, not
    complete, and a backfill without ``--through`` takes them the rest of the way."""
    settings, _ = shop
    days = DAY[66:68]
    latest = publish.read_latest(settings.published_dir)["run_date"]
    partial = backfill(start=days[0], end=days[-1], through="features")
    assert partial["days_through"] == days and partial["done"] == [] and partial["failed"] is None
    assert set(partial["stage_seconds"]) == {"ingest", "gate", "promote", "transform", "features"}
    with db.reader(settings) as con:
        assert {d: r.status for d, r in ledger.records(con, days[0], days[-1]).items()} == {
            d: "transformed" for d in days}
        assert con.execute("SELECT count(*) FROM marts.item_features WHERE as_of_date = ?",
                           [days[-1]]).fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM predictions.forecasts WHERE run_date >= ?",
                           [days[0]]).fetchone()[0] == 0
    assert publish.read_latest(settings.published_dir)["run_date"] == latest  # nothing published

    full = backfill(start=days[0], end=days[-1])
    assert full["done"] == days
    assert publish.read_latest(settings.published_dir)["run_date"] == days[-1].isoformat()
