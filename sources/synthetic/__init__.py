"""The synthetic shop: a deterministic simulator that writes a landing folder like a real export."""
from sources.synthetic.config import Regime, ShopConfig
from sources.synthetic.shop import generate

__all__ = ["Regime", "ShopConfig", "generate"]
