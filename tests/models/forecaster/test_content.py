"""The forecaster's content inputs: the description's words and what items of the same category
sell, both point in time (data up to the origin only)."""
from dataclasses import replace

import numpy as np
import torch

from models.content import WORDS_PER_ITEM, word_ids
from models.forecaster.features import LAGS, STATIC, FeatureBuilder
from models.forecaster.network import Forecaster

LEVEL = STATIC.index("log_category_level")


def _level(fb: FeatureBuilder, rows: np.ndarray, t: int) -> np.ndarray:
    return fb.samples(rows, np.full(len(rows), t), t).x[:, LAGS + LEVEL].numpy()


def test_words_are_hashed_stably_and_padded():
    ids = word_ids(np.array(["Red Retrospot Cake Tin", "", "red  RETROSPOT"]))
    assert ids.shape == (3, WORDS_PER_ITEM)
    assert (ids[0, :4] > 0).all() and (ids[0, 4:] == 0).all() and (ids[1] == 0).all()
    np.testing.assert_array_equal(ids[2, :2], ids[0, :2])  # case and spacing do not matter


def test_category_level_is_what_the_category_sold_up_to_the_origin(panel):
    fb = FeatureBuilder(panel, sorted(set(panel.category)))
    t = panel.days - 30
    rows = np.arange(len(panel.item_ids))
    level = _level(fb, rows, t)
    # by hand: mean daily units over t-27..t of the category's items sold by t
    first = panel.first_sale()
    for category in set(panel.category):
        mine = (panel.category == category) & (first >= 0) & (first <= t)
        expected = panel.units[mine, t - 27:t + 1].sum(axis=1).mean() / 28
        np.testing.assert_allclose(level[panel.category == category], np.log1p(expected), rtol=1e-5)
    # a category whose items sold more before t has a higher level; after t changes nothing
    home = panel.category == "Home"
    before, after = panel.units.copy(), panel.units.copy()
    before[home, t - 10:t + 1] *= 3
    after[home, t + 1:] *= 3
    raised = _level(FeatureBuilder(replace(panel, units=before), sorted(set(panel.category))), rows, t)
    later = _level(FeatureBuilder(replace(panel, units=after), sorted(set(panel.category))), rows, t)
    assert (raised[home] > level[home]).all() and np.allclose(raised[~home], level[~home])
    np.testing.assert_array_equal(later, level)


def test_the_description_reaches_the_embedding():
    """Two samples that differ only in their words embed differently; no words embed as zeros
    (an item without a description still gets a forecast)."""
    torch.manual_seed(0)
    net = Forecaster(n_categories=2, hidden=16, embedding=8)
    words = torch.tensor(word_ids(np.array(["paper lantern", "garden chair", ""])))
    described = net.description(words)
    assert not torch.allclose(described[0], described[1])
    assert torch.equal(described[2], torch.zeros_like(described[2]))
