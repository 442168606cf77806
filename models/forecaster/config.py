"""Settings of the forecaster: its network and tasks, on top of what both meta-learners share
(models/config.py). Environment variables such as ``SHOPCAST_FORECASTER__OUTER_STEPS=200``."""
from __future__ import annotations

from pydantic import Field

from models.config import MetaLearnerConfig


class ForecasterConfig(MetaLearnerConfig):
    hidden: int = 256
    embedding: int = 128
    outer_steps: int = 600
    tasks_per_step: int = 256
    learning_rate: float = 1e-3
    support_origins: int = Field(8, description="support samples per task: the same item at "
                                 "origins t-k*support_every_days, k = 1..support_origins")
    support_every_days: int = 7
    origin_every_days: int = Field(
        3, description="spacing of the training origins back from D-28; not a multiple of 7, so "
        "that training sees every day of the week as origin (a model serves the 7 days after D)")
    revenue_share: float = Field(0.5, description="weight of revenue (as WRMSSE) vs uniform per task")
    huber_delta: float = Field(
        50.0, description="the mean's loss is squared error up to this many RMSSE scales from "
        "the target, linear beyond: smaller deltas score better on WRMSSE but forecast less in "
        "total than sells (decision 0018)")
    quantile_weight: float = 0.5
    pooled_candidate: bool = Field(
        True, description="train the pooled network (no adaptation) beside the meta-learned one "
        "at each retrain, on the same data: a candidate of the model gate")
    boosted_candidate: bool = Field(
        True, description="train gradient-boosted trees (LightGBM) on the same inputs and data "
        "at each retrain: a candidate of the model gate (models/forecaster/boosted.py)")
    inputs: int = Field(
        2, description="version of the network's inputs (features.py, network.py): 2 added the "
        "description's words and the category level; a model built for other inputs is never "
        "served or warm-started by this code")
    min_history_days: int = Field(
        120, ge=56, description="before the warehouse holds this many days, publish the "
        "baseline (56 at least: a training origin needs 28 days before it and 28 after)")
