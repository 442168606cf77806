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
