"""What both meta-learned models' settings share: the adaptation switch, the outer and inner
loops of meta-training, and when the daily flow retrains. Each model's config adds its network
and task fields and its own defaults; both are part of the one configuration object
(``Settings.forecaster``, ``Settings.recommender``). Changing a training field changes the
model version."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

POLICY_FIELDS = {"retrain_every_days", "min_history_days"}  # the daily flow's, not the model's


class MetaLearnerConfig(BaseModel):
    mode: Literal["maml", "pooled"] = Field(
        "maml", description="maml: meta-learn an initialisation adapted per task (an item, a "
        "customer); pooled: the same network trained without adaptation (the ablation)")
    outer_steps: int
    tasks_per_step: int
    learning_rate: float
    inner_steps: int = 3
    inner_lr: float = Field(0.1, description="initial inner learning rate (then learned per parameter)")
    first_order: bool = False
    seed: int = 0
    # the daily flow's policy
    retrain_every_days: int = Field(
        7, description="meta-train again when the model's training window ends more than this "
        "many days before the run date")
    min_history_days: int = Field(
        description="before the warehouse holds this many days, publish the baseline")

    def training_fields(self) -> dict:
        """The fields that make the model what it is (its version hashes them)."""
        return self.model_dump(exclude=POLICY_FIELDS)
