"""What an item is, as model inputs both models share: the words of its description.

A new item has no sales to learn from; its description says what it is like. Words are hashed
into a fixed number of buckets (stable across processes and shops), so no vocabulary has to be
stored with a model and a word first seen after training still maps to a bucket.
"""
from __future__ import annotations

import re
import zlib

import numpy as np

VOCABULARY = 8192        # hashed word buckets (0 is padding)
WORDS_PER_ITEM = 8


def word_ids(names: np.ndarray) -> np.ndarray:
    """(n, 8) hashed ids of the first words of each description (stable across processes)."""
    out = np.zeros((len(names), WORDS_PER_ITEM), np.int64)
    for r, name in enumerate(names):
        words = re.findall(r"[a-z0-9]+", str(name).lower())[:WORDS_PER_ITEM]
        out[r, :len(words)] = [1 + zlib.crc32(w.encode()) % (VOCABULARY - 1) for w in words]
    return out
