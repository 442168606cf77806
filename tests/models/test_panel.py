from datetime import timedelta

import numpy as np

from models.panel import NEVER


def test_until_keeps_only_what_was_known(panel):
    d = panel.end - timedelta(days=30)
    past = panel.until(d)
    assert past.end == d and past.units.shape[1] == panel.units.shape[1] - 30
    first = panel.first_sale()
    known_ids = set(panel.item_ids[(first != NEVER) & (first <= panel.column(d))])
    assert set(past.item_ids) == known_ids  # new items after D and the later listing are unknown
    assert "99999" not in past.item_ids and "99999" in panel.item_ids


def test_sellable_items_and_listed_items(panel):
    t = panel.days - 1
    sellable = panel.sellable(t)
    listed = panel.item_ids == "99999"
    assert sellable[listed].all()  # launched, never sold: sellable through the catalogue
    assert panel.first_sale()[listed][0] == NEVER
    dead = panel.units.copy()
    dead[0, -90:] = 0
    from dataclasses import replace

    assert not replace(panel, units=dead).sellable(t)[0]


def test_checksum_changes_with_data(panel):
    other = panel.units.copy()
    other[0, 0] += 1
    from dataclasses import replace

    assert panel.checksum() == replace(panel, units=panel.units.copy()).checksum()
    assert panel.checksum() != replace(panel, units=other).checksum()
    assert np.isfinite(panel.list_price[panel.item_ids == "99999"]).all()


def test_until_names_items_as_they_were_known_on_d():
    """A description reworded after D, a category moved after D and a catalogue listing whose
    item sold later: the panel cut at D carries what was known on D, the full panel the latest
    (a missing description on a day keeps the one before); cutting twice is cutting once."""
    import pandas as pd

    from models.panel import panel_from_frames

    daily = pd.DataFrame({
        "item_id": ["A", "A", "A", "A", "B", "B", "C"],
        "order_date": pd.to_datetime(["2025-01-01", "2025-01-03", "2025-01-03", "2025-01-06",
                                      "2025-01-02", "2025-01-05", "2025-01-06"]),
        "units": [1, 2, 1, 3, 1, 1, 4],
        "category": ["Home", "Home", "Home", "Garden", "Toys", "Toys", None],
        "item_name": ["LAMP", "LAMP", "RED LAMP", None, "OWL", "PLUSH OWL", "MUG"]})
    catalogue = pd.DataFrame({"item_id": ["C"], "launch_date": pd.to_datetime(["2025-01-02"]),
                              "list_price": [3.0], "category": ["Kitchen"], "item_name": ["MUG, LISTED"]})
    panel = panel_from_frames(daily, catalogue)
    described = dict(zip(panel.item_ids, zip(panel.category, panel.item_name)))
    assert described == {"A": ("Garden", "RED LAMP"), "B": ("Toys", "PLUSH OWL"), "C": ("Kitchen", "MUG")}
    at = lambda d: dict(zip((p := panel.until(pd.Timestamp(d).date())).item_ids,
                            zip(p.category, p.item_name)))
    assert at("2025-01-02") == {"A": ("Home", "LAMP"), "B": ("Toys", "OWL"), "C": ("Kitchen", "MUG, LISTED")}
    assert at("2025-01-04") == {"A": ("Home", "RED LAMP"), "B": ("Toys", "OWL"), "C": ("Kitchen", "MUG, LISTED")}
    assert at("2025-01-01") == {"A": ("Home", "LAMP")}
    twice = panel.until(pd.Timestamp("2025-01-05").date()).until(pd.Timestamp("2025-01-02").date())
    assert dict(zip(twice.item_ids, zip(twice.category, twice.item_name))) == at("2025-01-02")
