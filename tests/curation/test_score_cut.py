"""The streamed clip-score cut (two passes: histograms, then one bin's distinct scores) equals
the cut found by sorting every score, on hard inputs: ties across the cut, every score equal,
scores crowded beside 0 where float32 is densest, rounding just past ±1, and scores split into
many blocks."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from wit_builder.curation.filters import score_thresholds
from wit_builder.curation.score_cut import BINS, cut_value, histogram, locate, values_in


def streamed(blocks: list[np.ndarray], top: float) -> float:
    counts = sum((histogram(block) for block in blocks), np.zeros(BINS, np.int64))
    wanted, rank, _ = locate(counts, top)
    values: Counter = Counter()
    for block in blocks:
        values.update(values_in(block, wanted))
    return cut_value(values, rank)


rng = np.random.default_rng(3)
SCORES = {
    "uniform": rng.uniform(-0.2, 0.5, 5000),
    "ties across the cut": np.repeat(np.array([0.1, 0.2, 0.3, 0.30000001]), 997),
    "all equal": np.full(3000, 0.25),
    "crowded at zero": rng.normal(0, 1e-7, 4000),
    "past plus and minus one": np.concatenate([np.full(10, 1.0000001), np.full(10, -1.0000002), rng.random(100)]),
    "one score": np.array([0.3]),
}


@pytest.mark.parametrize("name", SCORES)
@pytest.mark.parametrize("top", [1e-6, 0.3, 0.5, 0.999, 1.0])
def test_the_streamed_cut_equals_the_sorted_one(name, top):
    scores = SCORES[name].astype(np.float32).astype(np.float64)  # as the embed stage stores them
    blocks = np.array_split(rng.permutation(scores), 7)
    expected = score_thresholds(scores, [None] * len(scores), None, top, False)["all"]
    assert streamed([b for b in blocks if len(b)], top) == expected
