"""Gate thresholds, read from configs/quality.yaml: defaults with per-source overrides."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from domain.layered import load_for_source


class RawThresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt threshold is refused, not ignored
    max_bad_row_share: float = 0.05
    max_abs_quantity: float = 100_000
    max_unit_price: float = 50_000
    volume_warmup_trading_days: int = 28
    volume_window_trading_days: int = 28
    volume_min_ratio: float = 0.1
    volume_max_ratio: float = 10.0
    no_customer_warmup_trading_days: int = 7
    max_no_customer_share: float = 0.95
    max_no_customer_share_increase: float = 0.35
    partial_days: list[date] = []


class PredictionThresholds(BaseModel):
    """What the predictions gate may be told per source; the horizon and the list length are
    domain rules (domain/rules.py), not thresholds."""
    model_config = ConfigDict(extra="forbid")
    max_daily_units: float = 1_000_000   # a forecast above this for one item-day is a bug


class QualityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    raw: RawThresholds = RawThresholds()
    predictions: PredictionThresholds = PredictionThresholds()


def load_quality_config(path: Path, source_name: str) -> QualityConfig:
    return load_for_source(path, source_name, QualityConfig, "quality thresholds")
