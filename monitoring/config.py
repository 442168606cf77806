"""Monitoring settings, read from configs/monitoring.yaml: defaults with per-source overrides.

The statistics are Evidently's own (its registered drift tests, by name). Distances rather than
p-values by default: a p-value flags every shift once a year of rows is compared, and swings
on a small day; a distance measures how far a distribution moved whatever the sample size
(docs/monitoring.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from domain.layered import for_source

# Evidently's drift tests by registered name, as each column type allows them
NumericalMethod = Literal["wasserstein", "psi", "hellinger", "jensenshannon", "kl_div", "ks", "ed"]
CategoricalMethod = Literal["jensenshannon", "psi", "hellinger", "TVD", "chisquare", "kl_div"]
DatasetName = Literal["item_days", "active_customers", "raw_lines", "forecasts", "recommendations"]
DATASETS: tuple[str, ...] = get_args(DatasetName)


class DriftSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reference_days: int = Field(28, ge=1, description="Length of the reference window.")
    reference_gap_days: int = Field(
        28, ge=1, description="The reference window ends this many days before the run date.")
    num_method: NumericalMethod = "wasserstein"
    cat_method: CategoricalMethod = "jensenshannon"
    num_threshold: float = Field(0.1, gt=0, description="A numerical column drifts above this.")
    cat_threshold: float = Field(0.1, gt=0, description="A categorical column drifts above this.")
    sample_rows: int = Field(
        20_000, ge=100, description="Rows drawn from each side (a seeded reservoir sample).")
    min_rows: int = Field(
        200, ge=1, description="With fewer rows on either side a dataset gets no verdict.")
    drift_share: float = Field(
        0.5, gt=0, le=1, description="A dataset drifts when this share of its columns drift.")
    datasets: list[DatasetName] = list(DATASETS)


class ReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    html_days: int = Field(
        1, ge=0, description="The last run dates of each run that get Evidently's HTML reports.")
    html_retention_days: int = Field(
        14, ge=1, description="HTML reports of run dates this far before the newest are removed.")


class MonitoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    drift: DriftSettings = DriftSettings()
    reports: ReportSettings = ReportSettings()


def load_monitoring_config(path: Path, source_name: str) -> MonitoringConfig:
    try:
        return MonitoringConfig(**for_source(path, source_name))
    except Exception as exc:
        raise ValueError(f"{path}: invalid monitoring settings for {source_name}: {exc}") from exc
