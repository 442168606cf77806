"""Settings of the recommender: network, meta-training, and when the daily flow retrains.

Part of the one configuration object (``Settings.recommender``; environment variables such as
``SHOPCAST_RECOMMENDER__OUTER_STEPS=300``). Changing a training field changes the model version.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class RecommenderConfig(BaseModel):
    mode: Literal["maml", "pooled"] = Field(
        "maml", description="maml: meta-learn the personal parameters' initialisation, adapted "
        "per customer; pooled: the same network trained without adaptation (the ablation)")
    embedding: int = 32
    hidden: int = 64
    content: int = Field(32, description="size of the description-word and category embedding")
    outer_steps: int = 400
    tasks_per_step: int = 128
    learning_rate: float = 3e-3
    inner_steps: int = 3
    inner_lr: float = Field(0.1, description="initial inner learning rate (then learned per parameter)")
    first_order: bool = False
    positives: int = Field(24, description="positives kept per support or query set (padded)")
    negatives: int = Field(48, description="sampled negatives per support or query set: half "
                           "uniform over sellable items, half by recent popularity")
    window_days: int = Field(30, description="a training query: what the customer buys in the "
                             "window_days after the origin (as EVALUATION.md scores)")
    origin_every_days: int = 7
    origins: int = Field(16, description="training origins back from the training end - window")
    seed: int = 0
    # the daily flow's policy
    retrain_every_days: int = Field(
        7, description="meta-train again when the model's training window ends more than this "
        "many days before the run date")
    min_history_days: int = Field(
        90, ge=45, description="before the warehouse holds this many days, publish the baseline")

    def training_fields(self) -> dict:
        return self.model_dump(exclude={"retrain_every_days", "min_history_days"})
