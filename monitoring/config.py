"""Monitoring settings, read from configs/monitoring.yaml: defaults with per-source overrides.

The statistics are Evidently's own (its registered drift tests, by name). Distances rather than
p-values by default: a p-value flags every shift once a year of rows is compared, and swings
on a small day; a distance measures how far a distribution moved whatever the sample size
(docs/monitoring.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.layered import load_for_source

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
    current_days: int = Field(
        7, ge=1, description="The compared window: this many days ending on the run date.")
    warmup_days: int = Field(
        28, ge=0, description="No verdict while the reference window starts within this many "
                              "days of the warehouse's first day (features still forming).")
    num_method: NumericalMethod = "wasserstein"
    cat_method: CategoricalMethod = "jensenshannon"
    num_threshold: float = Field(0.15, gt=0, description="A numerical column drifts above this.")
    cat_threshold: float = Field(0.1, gt=0, description="A categorical column drifts above this.")
    sample_rows: int = Field(
        20_000, ge=100, description="At most this many reference rows: each day contributes "
                                    "at most sample_rows / reference_days rows.")
    column_thresholds: dict[str, float] = Field(
        {}, description="Thresholds of single columns, as `dataset.column: value`.")
    column_methods: dict[str, NumericalMethod | CategoricalMethod] = Field(
        {}, description="Drift tests of single columns, as `dataset.column: method`.")
    min_rows: int = Field(
        200, ge=1, description="With fewer rows on either side a dataset gets no verdict.")
    drift_share: float = Field(
        0.5, gt=0, le=1, description="A dataset drifts when this share of its columns drift.")
    datasets: list[DatasetName] = list(DATASETS)
    alarm_on: list[DatasetName] = Field(
        ["item_days", "active_customers", "raw_lines"],
        description="Datasets whose drifted columns raise the day's drift alarm (alerts, the "
                    "retraining policy); the others' drift is reported, not alarmed.")

    @model_validator(mode="after")
    def _columns_exist(self) -> "DriftSettings":
        from monitoring.datasets import MONITORED

        for key in [*self.column_thresholds, *self.column_methods]:
            dataset, _, column = key.partition(".")
            if dataset not in MONITORED or column not in MONITORED[dataset].columns:
                raise ValueError(f"{key!r} is not a monitored `dataset.column`")
        for key, method in self.column_methods.items():
            dataset, _, column = key.partition(".")
            allowed = get_args(NumericalMethod if column in MONITORED[dataset].numerical
                               else CategoricalMethod)
            if method not in allowed:
                raise ValueError(f"{key}: {method!r} is not a test for its column type "
                                 f"({', '.join(allowed)})")
        return self

    @property
    def per_day(self) -> int:
        return -(-self.sample_rows // self.reference_days)

    def method(self, dataset: str, column: str, numerical: bool) -> str:
        default = self.num_method if numerical else self.cat_method
        return self.column_methods.get(f"{dataset}.{column}", default)

    def threshold(self, dataset: str, column: str, numerical: bool) -> float:
        default = self.num_threshold if numerical else self.cat_threshold
        return self.column_thresholds.get(f"{dataset}.{column}", default)


class ReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    html_days: int = Field(
        1, ge=0, description="The last run dates of each run that get Evidently's HTML reports.")
    html_for: Literal["alarmed", "drifted", "all"] = Field(
        "alarmed", description="Reports of the datasets with an alarmed column (the inputs), of "
                               "those with any drifted column (predictions too), or of every "
                               "dataset with a verdict (about 1 s and 4 MB each).")
    html_retention_days: int = Field(
        14, ge=1, description="HTML reports of run dates this far before the newest are removed.")


class RealisedSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    every_days: int = Field(
        7, ge=1, description="In a run of several dates, realised quality every this many days "
                             "(and on the run's last date); a daily run scores its day.")
    max_customers: int = Field(
        5000, ge=100, description="Lists scored on a seeded sample of at most this many customers "
                                  "(Recall@20's standard error about 0.005).")


class RetrainingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    forecaster_inputs: list[DatasetName] = Field(
        ["item_days", "raw_lines"], description="Datasets whose alarms ask for a forecaster retrain.")
    recommender_inputs: list[DatasetName] = Field(
        ["active_customers", "item_days"], description="... and for a recommender retrain.")
    quality_margin: float = Field(
        0.05, ge=0, description="Served worse than the baseline by this fraction of its score ...")
    quality_days: int = Field(3, ge=1, description="... on this many consecutive scored days.")
    cooldown_days: int = Field(14, ge=0, description="No second request within this many days.")


class WorkspaceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    every_days: int = Field(
        1, ge=1, description="In a run of several dates, a snapshot every this many days (and "
                             "of the run's last date); a daily run adds its day. About 0.03 s each.")


class MonitoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    drift: DriftSettings = DriftSettings()
    realised: RealisedSettings = RealisedSettings()
    retraining: RetrainingSettings = RetrainingSettings()
    workspace: WorkspaceSettings = WorkspaceSettings()
    reports: ReportSettings = ReportSettings()


def load_monitoring_config(path: Path, source_name: str) -> MonitoringConfig:
    return load_for_source(path, source_name, MonitoringConfig, "monitoring settings")
