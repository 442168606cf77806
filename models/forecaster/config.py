"""Settings of the forecaster: network, meta-training, and when the daily flow retrains.

Part of the one configuration object (``Settings.forecaster``; environment variables such as
``SHOPCAST_FORECASTER__OUTER_STEPS=200``). Changing a training field changes the model version.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ForecasterConfig(BaseModel):
    mode: Literal["maml", "pooled"] = Field(
        "maml", description="maml: meta-learn an initialisation adapted per item; pooled: the "
        "same network trained without adaptation (the ablation).")
    hidden: int = 256
    embedding: int = 128
    outer_steps: int = 600
    tasks_per_step: int = 256
    learning_rate: float = 1e-3
    inner_steps: int = 3
    inner_lr: float = Field(0.1, description="initial inner learning rate (then learned per parameter)")
    first_order: bool = False
    support_origins: int = Field(8, description="support samples per task: the same item at "
                                 "origins t-k*support_every_days, k = 1..support_origins")
    support_every_days: int = 7
    origin_every_days: int = Field(
        3, description="spacing of the training origins back from D-28; not a multiple of 7, so "
        "that training sees every day of the week as origin (a model serves the 7 days after D)")
    revenue_share: float = Field(0.5, description="weight of revenue (as WRMSSE) vs uniform per task")
    huber_delta: float = 5.0
    quantile_weight: float = 0.5
    seed: int = 0
    # the daily flow's policy
    retrain_every_days: int = Field(
        7, description="meta-train again when the model's training window ends more than this "
        "many days before the run date")
    min_history_days: int = Field(
        120, ge=56, description="before the warehouse holds this many days, publish the "
        "baseline (56 at least: a training origin needs 28 days before it and 28 after)")

    def training_fields(self) -> dict:
        return self.model_dump(exclude={"retrain_every_days", "min_history_days"})
