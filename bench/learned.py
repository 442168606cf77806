"""What the model benchmarks share: a learned model is trained once per origin and mode (the
variants the comparisons score - the ablations, the meta model, its unadapted initialisation -
share those trainings), and the daily stage is timed with a fresh model in the registry."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel

from models.evaluation import to_markdown


class TrainedPerOrigin:
    def __init__(self, train: Callable, cfg: BaseModel, log=print, train_log=None):
        self.train, self.cfg, self.log, self.train_log = train, cfg, log, train_log
        self.cache: dict = {}
        self.training_seconds: dict[str, float] = {}  # "<mode> <origin>": seconds

    def trained(self, history, end: date, mode: str):
        """The model of ``mode`` trained on ``history`` (which ends at ``end``)."""
        key = (end, mode)
        if key not in self.cache:
            self.log(f"  training {mode} up to {end}")
            started = time.perf_counter()
            self.cache = {k: v for k, v in self.cache.items() if k[0] == end}  # one origin
            self.cache[key] = self.train(history, self.cfg.model_copy(update={"mode": mode}),
                                         log=self.train_log)
            self.training_seconds[f"{mode} {end}"] = time.perf_counter() - started
        return self.cache[key]


def time_daily_stage(predictor, settings, origin: date, repeats: int = 3):
    """Median seconds of the pipeline's prediction stage (pipeline/predict.py) for one run
    date, and its last result; the model must be in the registry already (a daily run does
    not train)."""
    from pipeline.predict import predict_days

    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        (result,) = predict_days(settings, predictor, [origin], log_line=lambda *_: None)
        times.append(time.perf_counter() - started)
        if result.trained:
            raise RuntimeError(f"the daily stage trained a model for {origin}: train_once first")
        if result.model_version == predictor.baseline_version:
            raise RuntimeError(f"the daily stage served the baseline on {origin}, not the network "
                               "it should time: set its GATE_FIRST_CHAMPION to network")
    return statistics.median(times), result


def train_and_save(meta_train: Callable, history, cfg, models_dir: Path) -> tuple[float, Any, Path]:
    """One meta-training on ``history`` (timed) and its artifact saved to the registry."""
    from models import registry

    started = time.perf_counter()
    trained = meta_train(history, cfg, log=None)
    seconds = time.perf_counter() - started
    return seconds, trained, registry.save(trained, models_dir)


def comparison_section(dataset: str, result: dict, summary: Callable, notes: dict[str, str]
                       ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """One dataset's comparison as the benchmarks report it: (its results per origin, the summary
    table, the section's opening lines: heading with the origins, the table, the dataset's note)."""
    results = pd.DataFrame(result["results"])
    results["origin"] = results["origin"].astype(str)
    table = summary(results, result["reference"])
    lines = [f"### {dataset} (origins {', '.join(sorted(results['origin'].unique()))})", "",
             to_markdown(table), ""]
    if dataset in notes:
        lines += [notes[dataset], ""]
    return results, table, lines
