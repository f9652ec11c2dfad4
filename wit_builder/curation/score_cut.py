"""The clip-score cut that keeps exactly the top fraction of a group, found in two streamed
passes instead of one sort of every score (``filters.score_thresholds`` is that sort, and the
reference these passes are tested against):

1. each block of scores adds to its group's histogram of ``BINS`` equal bins over [-1, 1]
   (a cosine; a score outside, from rounding, falls in an end bin); summed, the histograms
   say in which bin the k-th highest score lies (k = ⌈F·n⌉) and its rank within the bin;
2. each block gives the distinct scores of that bin with their counts; merged, they give the
   k-th highest score exactly.

Memory is one histogram a group and the distinct scores of one bin: the embed stage writes
float32 scores, so a bin 2/65,536 wide holds a few hundred distinct values (a few hundred
thousand right beside 0, where float32 is densest), however many samples fall in it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping

import numpy as np

BINS = 1 << 16


def kept_of(top: float, n: int) -> int:
    """How many of ``n`` scores the ``top`` fraction keeps: ⌈top × n⌉, at least one."""
    return max(1, math.ceil(top * n))


def bins_of(scores: np.ndarray) -> np.ndarray:
    """Each score's bin (the scores must be finite)."""
    return np.clip(((np.asarray(scores, np.float64) + 1.0) * (BINS / 2)).astype(np.int64), 0, BINS - 1)


def histogram(scores: np.ndarray) -> np.ndarray:
    """Pass 1 over one block of one group's finite scores."""
    return np.bincount(bins_of(scores), minlength=BINS).astype(np.int64)


def locate(counts: np.ndarray, top: float) -> tuple[int, int, int]:
    """From a group's summed histogram: (the bin of the k-th highest score, its rank within the
    bin counted from the highest, k). ``kept_of`` decides k."""
    total = int(counts.sum())
    k = kept_of(top, total)
    from_top = np.cumsum(counts[::-1])
    position = int(np.searchsorted(from_top, k))  # the first bin, from the top, reaching k
    above = int(from_top[position - 1]) if position else 0
    return BINS - 1 - position, k - above, k


def values_in(scores: np.ndarray, wanted_bin: int) -> Counter:
    """Pass 2 over one block of one group's finite scores: the distinct scores of the wanted
    bin, with how often each occurs."""
    scores = np.asarray(scores, np.float64)
    chosen = scores[bins_of(scores) == wanted_bin]
    values, counts = np.unique(chosen, return_counts=True)
    return Counter(dict(zip(values.tolist(), counts.tolist(), strict=True)))


def cut_value(values: Mapping[float, int], rank: int) -> float:
    """The ``rank``-th highest of the bin's scores (ties counted as often as they occur)."""
    seen = 0
    for value in sorted(values, reverse=True):
        seen += values[value]
        if seen >= rank:
            return float(value)
    raise ValueError(f"the bin holds {seen} scores, fewer than rank {rank}")
