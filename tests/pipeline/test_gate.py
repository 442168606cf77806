"""The gate in the model stages: a decision at each retrain date from a backtest at D - H, kept
until the next retrain, stored in the ledger; a worse challenger is not promoted, a better one
is, and the backtest's candidate never saw data after D - H."""
from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from models.gate import BASELINE, BOOSTED, NETWORK, POOLED, TWO_STAGE
from pipeline.gate import GateSpec, ModelGate
from pipeline.tracking import Tracker
from tests.conftest import tiny_environment
from warehouse import db

D = date(2025, 6, 1)
HISTORY = object()  # what the model stage loaded: handed to the backtest as it is


@dataclass
class Network:
    version: str
    train_end: str


def spec(network_wrmsse: float, seen: list) -> GateSpec:
    def backtest(candidate, history, origin):
        seen.append((candidate.version, history, origin))
        return {NETWORK: {"all": {"wrmsse": network_wrmsse}}, BASELINE: {"all": {"wrmsse": 1.0}}}
    return GateSpec(28, "wrmsse all", lower_is_better=True, backtest=backtest)


def candidate_at(origin: date, may_train: bool = True) -> Network:
    return Network(f"net-{origin}", origin.isoformat())


def test_a_worse_network_is_not_promoted_and_a_better_one_is(tmp_path):
    seen: list = []
    worse = ModelGate("forecaster", spec(1.10, seen), 0.02, {})
    served = worse.decision_for(D, Network("net-D", D.isoformat()), True, candidate_at, HISTORY, print)
    assert served.winner == BASELINE and served.backtest.scores == {NETWORK: 1.10, BASELINE: 1.0}
    assert seen == [(f"net-{D - timedelta(days=28)}", HISTORY, D - timedelta(days=28))]
    assert date.fromisoformat(served.backtest.versions[NETWORK][4:]) <= D - timedelta(days=28)

    better = ModelGate("forecaster", spec(0.90, []), 0.02, {})
    assert better.decision_for(D, Network("net-D", D.isoformat()), True, candidate_at, HISTORY, print).winner == NETWORK
    within_margin = ModelGate("forecaster", spec(0.99, []), 0.02, {})
    assert within_margin.decision_for(D, Network("net-D", D.isoformat()), True, candidate_at,
                                      HISTORY, print).winner == BASELINE


def test_a_decision_holds_until_the_next_retrain_and_is_kept_in_the_ledger(tmp_path):
    seen: list = []
    gate = ModelGate("forecaster", spec(0.80, seen), 0.02, {})
    network = Network("net-D", D.isoformat())
    first = gate.decision_for(D, network, True, candidate_at, HISTORY, print)
    later = gate.decision_for(D + timedelta(days=3), network, False, candidate_at, HISTORY, print)
    assert later == first and len(seen) == 1  # the same model: no new backtest
    retrained = Network("net-D7", (D + timedelta(days=7)).isoformat())
    gate.spec = spec(1.5, seen)  # the network got worse: the baseline takes over again
    again = gate.decision_for(D + timedelta(days=7), retrained, True, candidate_at, HISTORY, print)
    assert (again.champion, again.winner) == (NETWORK, BASELINE) and len(seen) == 2
    # too little history at D - H for a candidate: the champion stays, said so
    young = ModelGate("forecaster", spec(0.5, []), 0.02, {})
    held = young.decision_for(D, network, True, lambda origin, may_train: None, HISTORY, print)
    assert held.winner == BASELINE and held.backtest is None and "no backtest" in held.reason

    with tiny_environment(tmp_path) as (settings, _, _):
        gate.record(settings, Tracker(None))
        with db.reader(settings) as con:
            back = ModelGate.read(con, "forecaster", gate.spec, 0.02)
    assert back.decisions == gate.decisions
    # the next call starts from what the ledger holds: a day between retrains reuses it
    assert back.decision_for(D + timedelta(days=9), retrained, False, candidate_at, HISTORY, print) == again


# -- the backtests themselves, on the model tests' tiny shops ---------------------------------
from tests.models.conftest import panel, tiny_config, trained  # noqa: E402,F401 (fixtures)
from tests.models.recommender.conftest import shop  # noqa: E402,F401 (a fixture)


def zeroed(model):
    """A deliberately worse challenger: the same network with every weight at zero."""
    import copy

    import torch

    worse = copy.deepcopy(model)
    with torch.no_grad():
        for p in worse.model.parameters():
            p.zero_()
    return worse


def test_the_forecast_backtest_scores_the_network_and_the_baseline_as_monitoring_does(panel, trained):  # noqa: F811
    from models.forecaster import evaluate
    from models.forecaster.baselines import ses
    from pipeline.predict import FORECASTER, backtest_forecasts

    origin = panel.end - timedelta(days=28)
    assert date.fromisoformat(str(trained.train_end)) <= origin  # point in time
    scores = backtest_forecasts(trained, panel, origin)
    assert scores[BASELINE] == evaluate.realised(panel, origin, ses(panel.until(origin)), ses)["baseline"]
    worse = backtest_forecasts(zeroed(trained), panel, origin)
    spec = FORECASTER.gate
    assert spec.score_of(worse[NETWORK]) > spec.score_of(scores[NETWORK])
    gate = ModelGate("forecaster", GateSpec(28, spec.metric, True, lambda c, d, o: worse), 0.02, {})
    decision = gate.decision_for(panel.end, Network("net", panel.end.isoformat()), True,
                                 lambda origin, may_train: Network("zeroed", origin.isoformat()),
                                 panel, print)
    assert decision.winner == BASELINE  # the zeroed network is not promoted

    # a network that forecasts too little in total is left out even where WRMSSE favours it
    better_but_low = {NETWORK: {"all": {"wrmsse": 0.5, "total_bias": -0.6}},
                      BASELINE: {"all": {"wrmsse": 1.0, "total_bias": 0.05}}}
    decided = {}
    for max_bias in (0.25, 0.75):
        gate = ModelGate("forecaster", GateSpec(28, spec.metric, True, lambda c, d, o: better_but_low,
                                                spec.bias_metric), 0.02, {}, max_bias=max_bias)
        decided[max_bias] = gate.decision_for(panel.end, Network("net", panel.end.isoformat()), True,
                                              lambda origin, may_train: Network("low", origin.isoformat()),
                                              panel, print)
    assert decided[0.25].winner == BASELINE
    assert "network left out: its total is -60% off the units sold (more than 25%)" in decided[0.25].reason
    assert decided[0.75].winner == NETWORK  # within a looser bound, WRMSSE decides
    assert scores[NETWORK]["all"]["total_bias"] > -1  # the backtest reports the total bias


def test_the_list_backtest_scores_a_network_trained_up_to_its_origin(shop):  # noqa: F811
    from models.recommender.config import RecommenderConfig
    from models.recommender.train import meta_train
    from pipeline.predict import RECOMMENDER, backtest_lists

    origin = shop.run_date - timedelta(days=30)
    network = meta_train(shop.until(origin), RecommenderConfig(
        embedding=8, hidden=16, content=8, outer_steps=20, tasks_per_step=32, origins=6,
        positives=8, negatives=16, seed=1), log=None)
    scores = backtest_lists(network, shop, origin)
    spec = RECOMMENDER.gate
    assert 0 < spec.score_of(scores[BASELINE]) <= 1 and 0 <= spec.score_of(scores[NETWORK]) <= 1
    assert scores[NETWORK]["all"]["customers"] == scores[BASELINE]["all"]["customers"] > 0
    worse = backtest_lists(zeroed(network), shop, origin)
    assert spec.score_of(worse[NETWORK]) < spec.score_of(scores[BASELINE])


def test_an_operators_choice_holds_on_its_day_and_the_next_retrain_decides_again():
    from models.gate import Decision

    pin = Decision("forecaster", D, NETWORK, BASELINE, "promoted by the operator: baseline-ses", None,
                   "baseline-ses")
    seen: list = []
    gate = ModelGate("forecaster", spec(0.5, seen), 0.02, {D: pin})
    network = Network("net-D", D.isoformat())
    assert gate.decision_for(D, network, True, candidate_at, HISTORY, print) == pin  # trained that day too
    assert gate.decision_for(D + timedelta(days=2), network, False, candidate_at, HISTORY, print) == pin
    retrained = Network("net-D7", (D + timedelta(days=7)).isoformat())
    after = gate.decision_for(D + timedelta(days=7), retrained, True, candidate_at, HISTORY, print)
    assert (after.champion, after.winner, after.version) == (BASELINE, NETWORK, None) and seen


def test_promote_refuses_unknown_versions_and_models_trained_after_the_day(tmp_path):
    import json

    import duckdb
    import pytest

    from pipeline.gate import previous_version, promote

    with tiny_environment(tmp_path) as (settings, _, _):
        card = settings.models_dir / "forecaster" / "forecaster-maml-2025-06-01-abc" / "model.json"
        card.parent.mkdir(parents=True)
        card.write_text(json.dumps({"train_end": "2025-06-01", "data_checksum": "x", "config": {},
                                    "saved_at": "2025-06-02T00:00:00+00:00", "metrics": {}}))
        with pytest.raises(ValueError, match="trained on data up to 2025-06-01"):
            promote(settings, "forecaster", card.parent.name, date(2025, 5, 31), "baseline-ses")
        with pytest.raises(ValueError, match="registered: forecaster-maml-2025-06-01-abc"):
            promote(settings, "forecaster", "forecaster-maml-2025-07-01-xyz", D, "baseline-ses")
        made = promote(settings, "forecaster", card.parent.name, date(2025, 6, 3), "baseline-ses")
        assert (made.winner, made.version, made.champion) == (NETWORK, card.parent.name, BASELINE)
        # a published two-stage version serves that model's two-stage recommender, if it has one
        lists = settings.models_dir / "recommender" / "recommender-maml-2025-06-01-abc"
        lists.mkdir(parents=True)
        (lists / "model.json").write_text(card.read_text())
        with pytest.raises(ValueError, match="without its two-stage candidate"):
            promote(settings, "recommender", f"{lists.name}+two-stage", D, "baseline-recency-reorders")
        (lists / "ranker.txt").write_text("tree")
        made = promote(settings, "recommender", f"{lists.name}+two-stage", D, "baseline-recency-reorders")
        assert (made.winner, made.version) == (TWO_STAGE, lists.name)
        # and a published pooled version that model's pooled network
        with pytest.raises(ValueError, match="without its pooled candidate"):
            promote(settings, "forecaster", f"{card.parent.name}+pooled", date(2025, 6, 3), "baseline-ses")
        (card.parent / "pooled.pt").write_bytes(b"weights")
        made = promote(settings, "forecaster", f"{card.parent.name}+pooled", date(2025, 6, 3), "baseline-ses")
        assert (made.winner, made.version) == (POOLED, card.parent.name)
        assert made.reason == f"promoted by the operator: {card.parent.name}+pooled"  # as asked
        promote(settings, "forecaster", card.parent.name, date(2025, 6, 3), "baseline-ses")
        promote(settings, "forecaster", "baseline-ses", date(2025, 6, 5), "baseline-ses")
        with db.reader(settings) as con:
            back = ModelGate.read(con, "forecaster", spec(1.0, []), 0.02)
        assert [(d, back.decisions[d].winner) for d in sorted(back.decisions)] == [
            (date(2025, 6, 3), NETWORK), (date(2025, 6, 5), BASELINE)]

    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (DATE '2025-06-01', 'a'), "
                "(DATE '2025-06-02', 'b'), (DATE '2025-06-03', 'b')) v(run_date, model_version)")
    assert previous_version(con, "t", date(2025, 6, 4)) == ("b", "a")
    assert previous_version(con, "t", date(2025, 6, 2)) is None  # only 'a' served before


# -- the gate inside the model stages, with real networks and a real backtest -----------------
GATE_SHOP_DAYS = 92  # a backtest needs min_history_days (56) of history at D - 30


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    """A synthetic shop through the stages before the models; tiny networks."""
    from domain.paths import REPO_ROOT
    from pipeline.settings import Settings
    from sources.config import load_source_config
    from sources.synthetic import ShopConfig, generate
    from tests.conftest import run_stages

    config = ShopConfig(seed=21, days=GATE_SHOP_DAYS, lines_per_day=250, initial_items=120,
                      initial_customers=250, customer_joins_per_day=2, item_launches_per_day=0.5)
    root = tmp_path_factory.mktemp("gate")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHOPCAST_DATA_DIR", str(root / "data"))
        mp.setenv("SHOPCAST_SOURCE_CONFIG", str(REPO_ROOT / "configs/sources/synthetic.yaml"))
        for model, sizes in (("FORECASTER", {"TASKS_PER_STEP": 64, "HIDDEN": 32, "EMBEDDING": 16}),
                             ("RECOMMENDER", {"TASKS_PER_STEP": 32, "HIDDEN": 16, "EMBEDDING": 8,
                                              "CONTENT": 8})):
            for key, value in {"MIN_HISTORY_DAYS": 56, "OUTER_STEPS": 15, **sizes}.items():
                mp.setenv(f"SHOPCAST_{model}__{key}", str(value))
        settings = Settings()
        generate(config, load_source_config(settings.source_config).landing_path(settings.root),
                 settings.root / "truth")
        days = [config.start_date + timedelta(days=i) for i in range(config.days)]
        assert run_stages(settings, days, until="features").stop is None
        yield settings, days


@pytest.mark.slow
@pytest.mark.dbt
@pytest.mark.parametrize("name", ["forecaster", "recommender"])
def test_the_model_stage_backtests_at_a_retrain_and_publishes_the_winner(gated, name):
    import json

    from models import registry
    from pipeline.predict import FORECASTER, RECOMMENDER, predict_days

    settings, days = gated
    predictor = {"forecaster": FORECASTER, "recommender": RECOMMENDER}[name]
    run_date = days[-1]
    (day,) = predict_days(settings, predictor, [run_date])
    assert day.trained  # a retrain date: the gate decided
    with db.reader(settings) as con:
        (decision,) = con.execute("SELECT decision FROM ops.model_gate WHERE model = ? AND run_date = ?",
                                  [name, run_date]).fetchone()
        published = con.execute(f"SELECT DISTINCT model_version FROM {predictor.table} "
                                "WHERE run_date = ?", [run_date]).fetchall()
    decision = json.loads(decision)
    backtest = decision["backtest"]
    origin = run_date - timedelta(days=predictor.gate.horizon_days)
    assert backtest is not None and backtest["origin"] == origin.isoformat()
    # every candidate scored: also what was trained with the network (the pooled forecaster and
    # the boosted trees, the two-stage recommender)
    trained_with = {TWO_STAGE} if name == "recommender" else {POOLED, BOOSTED}
    assert set(backtest["scores"]) == {NETWORK, BASELINE, *trained_with}
    assert all(0 <= score < 100 for score in backtest["scores"].values())
    candidate = backtest["versions"][NETWORK]
    trained_ends = {c.path.name: c.train_end for c in registry.candidates(settings.models_dir, name)}
    assert trained_ends[candidate] <= origin  # the candidate saw nothing after D - H
    trained_now = max(v for v in trained_ends if trained_ends[v] == run_date)
    served = {BASELINE: predictor.baseline_version, NETWORK: trained_now,
              TWO_STAGE: f"{trained_now}+two-stage", POOLED: f"{trained_now}+pooled",
              BOOSTED: f"{trained_now}+boosted"}[decision["winner"]]
    assert published == [(served,)] and day.model_version == served
    # each candidate is named as it would publish, the name `shopcast models promote` takes
    assert {c: v for c, v in backtest["versions"].items() if c != NETWORK} == {
        c: f"{candidate}+{c}" for c in trained_with}

    # the training and the decision are runs in the MLflow store under the data directory
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=settings.tracking)
    trainings = client.search_runs([client.get_experiment_by_name(f"shopcast/{name}/training").experiment_id])
    assert {trained_now, candidate} <= {r.data.tags["version"] for r in trainings}
    (gate_run,) = client.search_runs([client.get_experiment_by_name(f"shopcast/{name}/gate").experiment_id],
                                     f"params.run_date = '{run_date}'")
    assert gate_run.data.tags["winner"] == decision["winner"]
    metric, segment = predictor.gate.metric.split()
    assert gate_run.data.metrics[f"{NETWORK}.{segment}.{metric}"] == pytest.approx(backtest["scores"][NETWORK])

    from typer.testing import CliRunner

    from flows.cli import app

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLUMNS", "80")  # a version is never cut or broken, however narrow
        listed = CliRunner().invoke(app, ["models", "list", "--kind", name], prog_name="shopcast")
    assert listed.exit_code == 0, listed.output
    score = backtest["scores"][NETWORK]
    lines = listed.output.splitlines()
    own = f"{candidate}  data up to {trained_ends[candidate]}"
    at = next(i for i, line in enumerate(lines) if line.startswith(own))
    # what else it serves as (the names promote takes), then its backtest on the next line
    assert lines[at].endswith("also serves as " + {"forecaster": "+pooled, +boosted",
                                                    "recommender": "+two-stage"}[name])
    assert f"{predictor.gate.metric}: {NETWORK} {score:.4f}" in lines[at + 1]
