"""What both meta-learned models' settings share: the adaptation switch, the outer and inner
loops of meta-training, and when the daily flow retrains. Each model's config adds its network
and task fields and its own defaults; both are part of the one configuration object
(``Settings.forecaster``, ``Settings.recommender``). Changing a training field changes the
model version."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# the daily flow's, not the model's (a warm start's parent is in the model's lineage and version)
POLICY_FIELDS = {"retrain_every_days", "min_history_days", "warm_start_fraction",
                 "scratch_every_days", "from_scratch", "gate_margin", "gate_first_champion",
                 "gate_max_total_bias", "processes", "device"}


class MetaLearnerConfig(BaseModel):
    # a misspelt field would leave its default in force unsaid; a card saved by earlier code
    # with a field since removed is loaded by models/registry.py, which keeps known fields only
    model_config = ConfigDict(extra="forbid")

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
    processes: int = Field(
        1, ge=1, description="meta-train in this many processes (torchrun, models/across.py): "
        "each scores its share of every batch of tasks; the model equals one process's within "
        "float noise, so it is not part of the version")
    device: Literal["cpu", "cuda", "auto"] = Field(
        "cpu", description="where meta-training's tensors live: cpu, cuda (under torchrun each "
        "process its own GPU, nccl reducing the gradients where there are as many GPUs as "
        "processes: models/across.py) or auto (cuda where a GPU is visible); the trained model "
        "comes back to the CPU, where prediction runs. Float noise apart the same model, so "
        "not part of the version")
    # the daily flow's policy
    retrain_every_days: int = Field(
        7, description="meta-train again when the model's training window ends more than this "
        "many days before the run date")
    min_history_days: int = Field(
        description="before the warehouse holds this many days, publish the baseline")
    warm_start_fraction: float = Field(
        0.25, ge=0.0, le=1.0, description="a retrain starts from the newest valid earlier model's "
        "weights and runs this fraction of outer_steps (within seed noise of a full training on "
        "both shops: decision 0012); 0: every retrain from scratch")
    scratch_every_days: int = Field(
        91, ge=1, description="train from scratch when the chain of warm starts began this many "
        "days or more before the training end")
    from_scratch: bool = Field(False, description="the next retrains start from scratch")
    gate_margin: float = Field(
        0.02, ge=0.0, lt=1.0, description="at a retrain, a challenger replaces the serving "
        "candidate only when it beats it by this much (relative) on the backtest of the "
        "horizon before the run date (models/gate.py)")
    gate_max_total_bias: float = Field(
        0.25, gt=0.0, description="a candidate whose backtest total is off by more than this "
        "(|sum of forecasts / units sold - 1|; models whose gate reads a total bias: the "
        "forecaster) is left out of the decision: WRMSSE alone rewards forecasting zero")
    gate_first_champion: Literal["baseline", "network"] = Field(
        "baseline", description="what serves until a backtest could be run (the network needs "
        "min_history_days of history at D - horizon to be a candidate)")

    def training_fields(self) -> dict:
        """The fields that make the model what it is (its version hashes them)."""
        return self.model_dump(exclude=POLICY_FIELDS)
