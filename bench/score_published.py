"""Score what a backfill published - the Parquet files under ``published/``, as a consumer reads
them - with the protocol of docs/evaluation.md, next to the harness's figures for the model that
served each day (re-run in memory from the registry, or the baseline named in
``model_version``). The two must agree within 0.005: the published files are what the
benchmarks claim.

    python -m bench.score_published --data-dir data/online_retail \\
        --forecast-origins 2011-09-30,2011-10-14 --recommend-origins 2011-09-30,2011-10-31

Exit status 1 when a difference is larger than the tolerance or a day was not published.
"""
from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from domain.rules import HORIZON_DAYS, RECOMMENDATION_WINDOW_DAYS
from models.forecaster import baselines as forecast_baselines
from models.forecaster import evaluate as forecast_evaluate
from models.forecaster.metrics import Forecast
from models.panel import load_panel
from models.recommender import baselines as recommend_baselines
from models.recommender import evaluate as recommend_evaluate
from models.recommender import ranker
from models.recommender.data import load_history
from models.recommender.metrics import Recommendations
from models.recommender.predict import recommend
from pipeline.predict import (
    FORECASTER,
    RECOMMENDER,
    forecast_from_rows,
    load_served,
    recommendations_from_rows,
)
from warehouse.publish import partition_dir

TOLERANCE = 0.005
METRICS = {"forecasts": [("wrmsse", "all"), ("wrmsse", "cold"), ("coverage_80", "all")],
           "recommendations": [("recall_at_20", "cold"), ("recall_at_20", "warm"),
                               ("ndcg_at_20", "all")]}


def published_rows(data_dir: Path, table: str, day: date, order: list[str]):
    path = partition_dir(data_dir / "published", table, day) / "part-0.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path}: {table} of {day} were not published")
    return pq.read_table(path).to_pandas().sort_values(order, kind="stable").reset_index(drop=True)


def published_forecast(data_dir: Path, day: date) -> tuple[Forecast, str]:
    rows = published_rows(data_dir, "forecasts", day, ["item_id", "target_date"])
    return forecast_from_rows(rows), str(rows["model_version"].iloc[0])


def published_lists(data_dir: Path, day: date) -> tuple[Recommendations, str]:
    rows = published_rows(data_dir, "recommendations", day, ["customer_id", "rank"])
    return recommendations_from_rows(rows), str(rows["model_version"].iloc[0])


def served_forecaster(models_dir: Path, version: str):
    """The harness's model for a published forecast version: (history) -> Forecast."""
    served = load_served(models_dir, FORECASTER, version)
    if served is None:  # the baseline the pipeline publishes
        return forecast_baselines.ses
    # the stage's own call: a network, its pooled twin or the boosted trees
    return lambda history: FORECASTER.predict(served, history, [history.end])[0]


def served_recommender(models_dir: Path, version: str):
    """The harness's model for a published list version: (history, customers) -> lists."""
    if version.startswith("baseline-"):
        scorer = recommend_baselines.BASELINES[version.removeprefix("baseline-")]
        return lambda history, customers: recommend_baselines.recommend(history, scorer, customers)
    served = load_served(models_dir, RECOMMENDER, version)
    if isinstance(served, ranker.TwoStage):
        return lambda history, customers: ranker.recommend(served.trained.ranker, history, customers)
    return lambda history, customers: recommend(served, history, customers)


def compare(data_dir: Path, forecast_origins: list[date], recommend_origins: list[date]
            ) -> list[dict]:
    """One row per table, origin and metric: the published files' figure and the harness's."""
    rows = []
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        panel = load_panel(con, max(forecast_origins, default=date.min) + timedelta(days=HORIZON_DAYS)) \
            if forecast_origins else None
        full = load_history(con, max(recommend_origins) + timedelta(days=RECOMMENDATION_WINDOW_DAYS)) \
            if recommend_origins else None
    for day in forecast_origins:
        published, version = published_forecast(data_dir, day)
        scored = forecast_evaluate.realised(panel, day, published,
                                            served_forecaster(data_dir / "models", version))
        rows += _rows("forecasts", day, version, scored)
    for day in recommend_origins:
        published, version = published_lists(data_dir, day)
        scoring = recommend_evaluate.OriginScoring.at(full, day)
        scored = recommend_evaluate.realised(scoring, published,
                                             served_recommender(data_dir / "models", version))
        rows += _rows("recommendations", day, version, scored)
    return rows


def _rows(table: str, day: date, version: str, scored: dict) -> list[dict]:
    return [{"table": table, "origin": day.isoformat(), "served": version,
             "metric": f"{metric} {segment}", "published files": scored["model"][segment][metric],
             "harness": scored["baseline"][segment][metric],
             "difference": abs(scored["model"][segment][metric] - scored["baseline"][segment][metric])}
            for metric, segment in METRICS[table]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--forecast-origins", default="", help="comma-separated run dates")
    ap.add_argument("--recommend-origins", default="", help="comma-separated run dates")
    args = ap.parse_args(argv)
    dates = [[date.fromisoformat(d) for d in arg.split(",") if d]
             for arg in (args.forecast_origins, args.recommend_origins)]
    import pandas as pd

    from models.evaluation import to_markdown

    table = pd.DataFrame(compare(args.data_dir, *dates))
    print(to_markdown(table.set_index("table"), digits=4))
    worst = table["difference"].max()
    print(f"largest difference {worst:.5f} (tolerance {TOLERANCE}): "
          f"{'agree' if worst <= TOLERANCE else 'DISAGREE'}")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    raise SystemExit(main())
