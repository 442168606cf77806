"""What the forecast and recommend stages share: for each run date in order, a prediction from
what was known at that date only, its rows stored a month of days per transaction."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from warehouse import db
from warehouse.settings import Settings


@dataclass
class DayPrediction:
    run_date: date
    model_version: str
    entities: int          # items forecast, or customers given a list
    trained: bool          # a model was meta-trained for this run date
    seconds: float


def predict_days(settings: Settings, table: str, run_dates: list[date],
                 history_until: Callable[[date], Any],
                 predict: Callable[[Any], tuple[pa.Table, str, bool, int]],
                 per_transaction: int = 31) -> list[DayPrediction]:
    """``predict(history_until(D))`` -> (rows, model version, trained now, entities) for each
    run date in order; the rows replace D's in ``table``."""
    results = []

    def days():
        for run_date in sorted(run_dates):
            started = time.perf_counter()
            rows, version, trained, entities = predict(history_until(run_date))
            results.append(DayPrediction(run_date, version, entities, trained,
                                         time.perf_counter() - started))
            yield run_date, rows

    db.replace_days(settings, table, days(), per_transaction)
    return results
