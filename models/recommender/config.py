"""Settings of the recommender: its towers and tasks, on top of what both meta-learners share
(models/config.py). Environment variables such as ``SHOPCAST_RECOMMENDER__OUTER_STEPS=300``."""
from __future__ import annotations

from pydantic import Field

from domain.rules import RECOMMENDATION_WINDOW_DAYS
from models.config import MetaLearnerConfig


class RecommenderConfig(MetaLearnerConfig):
    embedding: int = 32
    hidden: int = 64
    content: int = Field(32, description="size of the description-word and category embedding")
    outer_steps: int = 400
    tasks_per_step: int = 128
    learning_rate: float = 3e-3
    positives: int = Field(24, description="positives kept per support or query set (padded)")
    negatives: int = Field(48, description="sampled negatives per support or query set: half "
                           "uniform over sellable items, half by recent popularity")
    window_days: int = Field(RECOMMENDATION_WINDOW_DAYS, description="a training query: what the "
                             "customer buys in the window_days after the origin (as it is scored)")
    origin_every_days: int = 7
    origins: int = Field(16, description="training origins back from the training end - window")
    two_stage: bool = Field(
        True, description="train the two-stage recommender (candidates, then a LightGBM ranker) "
        "beside the network at each retrain: a candidate of the model gate")
    ranker_customers: int = Field(
        20_000, ge=1, description="customers each training origin of the two-stage ranker takes at "
        "most (a seeded sample; the signals still come from every customer): on 75,801 "
        "customers as good as all of them at a third of the time (decision 0032)")
    min_history_days: int = Field(
        90, ge=45, description="before the warehouse holds this many days, publish the baseline")
