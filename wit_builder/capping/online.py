"""Online balancing (Meta CLIP 2): the balance's draw made afresh every epoch, in the data stream.

Offline, the balance stage keeps a pair when any of its matched queries keeps it, query q
keeping pair u when ``draw(seed, q, u) < p_q`` with ``p_q = min(1, t / matched_q)``
(``sampling``): one subset, drawn once. Online, the trainer applies the same rule to a pool
written without the cap (``wit-builder shard --pool``), with a seed that changes each epoch:

    keeps(epoch, u) = any(draw(epoch_seed(seed, epoch), q, u) < p_q for q in matches(u))

so each epoch is balanced as the offline draw is (a pair is kept with probability
``1 − ∏(1 − p_q)`` over its matches; ``expected_keep``), while over many epochs far more
distinct pairs are seen. The decision is a pure function of (seed, epoch, uid, the pair's
matches), so every rank and data-loader worker agrees on it without talking to the others, and
a resumed stream replays it exactly. Only the queries whose ``p_q`` is below 1 (``capped``:
matched more than t times) take part; a pair with any other match is always kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from wit_builder.capping.sampling import query_key, splitmix64
from wit_builder.hashing import hash64

_SEPARATOR = "\x1f"


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch``'s draw: independent draws for independent epochs."""
    return hash64(f"online{_SEPARATOR}{seed}{_SEPARATOR}{epoch}")


def expected_keep(keys: Iterable[str], capped: Mapping[str, float]) -> float:
    """The chance a pair with the match ``keys`` is kept in an epoch: 1 when any key is not
    capped, else ``1 − ∏(1 − p)`` over its keys. A pair with no key at all is never kept."""
    missed = 1.0
    seen = False
    for key in keys:
        seen = True
        p = capped.get(key)
        if p is None:
            return 1.0
        missed *= 1.0 - p
    return 1.0 - missed if seen else 0.0


@dataclass(frozen=True)
class OnlineBalance:
    """The capped queries' keep probabilities (``key`` as ``languages.row_keys`` makes it) and
    the seed: everything a data-loader worker needs to draw any epoch."""

    capped: Mapping[str, float]
    seed: int = 0

    def epoch(self, epoch: int) -> EpochDraw:
        return EpochDraw(self, epoch)

    def expected(self, keys: Iterable[str]) -> float:
        return expected_keep(keys, self.capped)


class EpochDraw:
    """One epoch's draw; each capped query's key is hashed once, on first use."""

    def __init__(self, balance: OnlineBalance, epoch: int):
        self.capped = balance.capped
        self.seed = epoch_seed(balance.seed, epoch)
        self._keys: dict[str, int] = {}

    def keeps(self, uid: str, keys: Iterable[str]) -> bool:
        """Whether the pair ``uid`` with the match ``keys`` is kept this epoch."""
        keys = list(keys)
        if not keys:
            return False
        if any(key not in self.capped for key in keys):
            return True
        uid_hash = hash64(uid)
        for key in keys:
            query = self._keys.get(key)
            if query is None:
                query = self._keys[key] = query_key(self.seed, key)
            if (splitmix64(query ^ uid_hash) >> 11) * 2.0**-53 < self.capped[key]:
                return True
        return False


def union_expected(probabilities: Iterable[float], epochs: int) -> float:
    """The distinct pairs expected over ``epochs`` independent epochs: ``Σ 1 − (1 − P)^E``."""
    return math.fsum(1.0 - (1.0 - p) ** epochs for p in probabilities)
