"""Parameters of the synthetic shop. Every run with the same parameters writes the same files."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field

# Departments and their leaf categories, with the day of year on which each department peaks.
CATEGORY_TREE: dict[str, tuple[int, list[str]]] = {
    "Home": (340, ["Lighting", "Textiles", "Decor"]),
    "Kitchen": (330, ["Baking", "Tableware", "Storage"]),
    "Garden": (130, ["Plants", "Tools"]),
    "Toys": (350, ["Games", "Plush"]),
    "Stationery": (250, ["Cards", "Wrapping"]),
}


class Regime(BaseModel):
    """A change of regime from ``start`` on, for drift tests: prices or demand of one category."""

    kind: Literal["price_shock", "category_surge"]
    start: date
    category: str = Field(..., description="A leaf such as 'Home/Lighting' or a department 'Home'.")
    factor: float = Field(..., gt=0)


class ShopConfig(BaseModel):
    seed: int = 7
    start_date: date = date(2025, 1, 1)
    days: int = Field(365, ge=1)
    lines_per_day: float = Field(2000, gt=0, description="Mean product lines per day before seasonality.")
    files_per_day: int = Field(1, ge=1)

    initial_items: int = 400
    item_launches_per_day: float = 1.0
    listing_lead_days: int = Field(5, description="Catalogue lists an item up to this many days before it sells.")
    initial_customers: int = 1500
    customer_joins_per_day: float = 6.0

    dispersion: float = Field(2.0, gt=0, description="Negative binomial size k of daily line counts.")
    guest_share: float = Field(0.08, ge=0, le=1, description="Valid lines without a customer.")
    repeat_share: float = Field(0.3, ge=0, le=1, description="Lines that go to an earlier buyer of the item.")
    return_share: float = Field(0.02, ge=0, le=1)
    shipping_line_share: float = Field(0.3, ge=0, le=1, description="Orders with a shipping (non-product) line.")

    weekly_profile: list[float] = [1.0, 1.05, 1.0, 1.1, 1.2, 0.9, 0.75]  # Monday..Sunday
    yearly_amplitude: float = 0.25
    trend_per_year: float = 0.15
    holidays: dict[str, float] = {"12-24": 0.5, "12-25": 0.2, "12-26": 0.4, "01-01": 0.3, "11-28": 2.0}

    promo_start_rate: float = Field(0.004, description="Chance per item and day that a promotion starts.")
    promo_days: tuple[int, int] = (7, 14)
    promo_discount: tuple[float, float] = (0.2, 0.4)
    price_elasticity: float = 2.0

    dirty_share: float = Field(0.01, ge=0, le=0.5, description="Lines made dirty (split over the kinds).")
    regimes: list[Regime] = []

    @classmethod
    def from_yaml(cls, path: Path) -> "ShopConfig":
        return cls(**(yaml.safe_load(Path(path).read_text()) or {}))

    @property
    def categories(self) -> list[str]:
        return [f"{dept}/{leaf}" for dept, (_, leaves) in CATEGORY_TREE.items() for leaf in leaves]

    @property
    def category_peaks(self) -> list[int]:
        return [peak for _, (peak, leaves) in CATEGORY_TREE.items() for _ in leaves]
