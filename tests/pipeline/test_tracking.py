"""MLflow tracking of trainings and gate decisions: what a run records, a tracker that is off,
and a store that cannot be written (reported, never fatal)."""
import logging
from datetime import date

from models import gate
from pipeline.settings import Settings
from pipeline.tracking import Tracker

DECISION = gate.Decision(
    "recommender", date(2025, 6, 1), gate.BASELINE, gate.TWO_STAGE, "two-stage beats baseline",
    gate.Backtest(date(2025, 5, 2), "recall_at_20 all", False,
                  {gate.NETWORK: 0.40, gate.BASELINE: 0.35, gate.TWO_STAGE: 0.45},
                  {gate.NETWORK: "recommender-maml-2025-05-02-abc", gate.TWO_STAGE: "recommender-maml-2025-05-02-abc"},
                  {c: {"all": {"recall_at_20": s, "ndcg_at_20": s / 2}, "cold": {"recall_at_20": float("nan")}}
                   for c, s in ((gate.NETWORK, 0.40), (gate.BASELINE, 0.35), (gate.TWO_STAGE, 0.45))}))


def test_a_decision_is_a_run_with_every_candidates_metrics(tmp_path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = Tracker(uri).decision(DECISION)
    run = MlflowClient(tracking_uri=uri).get_run(run_id)
    assert run.data.tags["winner"] == gate.TWO_STAGE and run.data.params["origin"] == "2025-05-02"
    assert run.data.metrics["two-stage.all.recall_at_20"] == 0.45
    assert run.data.metrics["baseline.all.ndcg_at_20"] == 0.175
    assert "network.cold.recall_at_20" not in run.data.metrics  # NaN: not scored, not logged


def test_the_default_store_is_under_the_data_directory_and_off_means_off(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPCAST_DATA_DIR", str(tmp_path / "data"))
    assert Settings().tracking == f"sqlite:///{tmp_path / 'data' / 'mlflow.db'}"
    monkeypatch.setenv("SHOPCAST_TRACKING_URI", "off")
    assert Settings().tracking is None
    assert Tracker(None).decision(DECISION) is None and not (tmp_path / "data").exists()


def test_a_store_that_cannot_be_written_is_reported_not_fatal(tmp_path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    uri = f"sqlite:///{blocked / 'mlflow.db'}"
    with caplog.at_level(logging.WARNING, logger="shopcast"):
        assert Tracker(uri).decision(DECISION) is None
    assert f"MLflow tracking at {uri} failed, recommender 2025-06-01 not recorded" in caplog.text
