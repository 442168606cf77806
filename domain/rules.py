"""The domain rules of docs/evaluation.md, defined once.

dbt reads them as vars (``dbt_vars``: the transform passes them on every invocation, and
dbt_project.yml declares no copy), the models and metrics import the constants, and the
predictions gate derives its horizon and list length from them. tests/domain/test_rules.py
proves every consumer sees the same values.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class DomainRules:
    sellable_window_days: int = 90     # an item sold in the 90 days up to D is sellable at D
    cold_item_days: int = 28           # an item first sold fewer than 28 days before D is cold
    cold_customer_max_orders: int = 2  # a customer with 1-2 orders up to D is cold, 3+ warm
    horizon_days: int = 28             # forecasts cover D+1 .. D+28
    list_length: int = 20              # recommendations per customer (Recall@20, NDCG@20)
    recommendation_window_days: int = 30  # a list of D is judged on purchases in D+1 .. D+30
    promo_price_ratio: float = 0.9     # a day's mean price under 90% of the prior 28 days'
                                       # median price marks a promotion

    def dbt_vars(self) -> dict:
        """The rules as dbt vars (same names)."""
        return asdict(self)


RULES = DomainRules()

SELLABLE_WINDOW_DAYS = RULES.sellable_window_days
COLD_ITEM_DAYS = RULES.cold_item_days
COLD_CUSTOMER_MAX_ORDERS = RULES.cold_customer_max_orders
HORIZON_DAYS = RULES.horizon_days
LIST_LENGTH = RULES.list_length
RECOMMENDATION_WINDOW_DAYS = RULES.recommendation_window_days
