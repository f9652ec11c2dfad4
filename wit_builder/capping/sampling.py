"""The balance's sampling rule, as pure functions of (seed, query, uid).

A query matched by n pairs keeps each of them with probability ``p = min(1, F·t / n)`` (t =
``per_query``, F = ``oversample``, 1 by default); a pair is kept when **any** of its matched
queries keeps it, the rule of CLIP and MetaCLIP. Query q keeps pair u when

    draw(seed, q, u) < p_q,   draw = splitmix64(H(seed ␟ q) xor H(u)) / 2**64

with H BLAKE2b with an 8-byte digest (big-endian) and splitmix64 Steele et al.'s finaliser. The
draw depends on nothing else, so the sample is the same on any runner, any number of workers,
any file layout and any re-run, and a different seed gives an independent sample. ``draw`` is
the scalar reference an auditor can recompute by hand; ``keep_rows`` is the vectorised form the
stage runs (numpy over Arrow batches), tested equal to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wit_builder.hashing import hash64, hash64_array

_MASK = (1 << 64) - 1
_SEPARATOR = "\x1f"


def query_key(seed: int, query: str) -> int:
    return hash64(f"{seed}{_SEPARATOR}{query}")


def splitmix64(x: int) -> int:
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def draw(seed: int, query: str, uid: str) -> float:
    """The uniform [0, 1) number that decides whether ``query`` keeps pair ``uid``."""
    return (splitmix64(query_key(seed, query) ^ hash64(uid)) >> 11) * 2.0**-53


def keep_probability(matched: int, per_query: int | None, oversample: float = 1.0) -> float:
    """min(1, F·t / n): every pair of a query matched at most F·t times is kept by it
    (``per_query`` None: no cap, every pair is kept)."""
    if per_query is None or matched <= 0:
        return 1.0
    return min(1.0, oversample * per_query / matched)


def splitmix64_array(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


@dataclass
class CappedQueries:
    """The queries whose keep probability is below 1, prepared once per worker.

    Every other query keeps all its pairs, so only these need a draw; at t = 20,000 they are at
    most (all matches) / t, which keeps this table small at any scale.
    """

    names: pa.Array
    probability: np.ndarray
    keys: np.ndarray

    @classmethod
    def build(
        cls,
        matched: dict[str, int],
        per_query: int | None,
        oversample: float,
        seed: int,
        cap_of: Callable[[str], int | None] | None = None,
    ) -> CappedQueries:
        """``cap_of(key)``: the key's own t (its language's, ``balance.languages``); default
        ``per_query`` for every key."""
        cap = cap_of or (lambda _: per_query)
        names = sorted(q for q, n in matched.items() if keep_probability(n, cap(q), oversample) < 1.0)
        probability = np.array([keep_probability(matched[q], cap(q), oversample) for q in names], np.float64)
        keys = np.array([query_key(seed, q) for q in names], np.uint64)
        return cls(pa.array(names, pa.string()), probability, keys)

    def __len__(self) -> int:
        return len(self.names)


def keep_rows(uids: Sequence[str] | pa.Array, matches: pa.Array, capped: CappedQueries) -> np.ndarray:
    """Which rows are kept: a boolean per row of (``uids``, ``matches``: a list<string> array).

    A row with a match that is not capped is kept outright; otherwise each capped match draws.
    A row with no match at all is not kept (the stage counts it apart).
    """
    rows = len(matches)
    if isinstance(matches, pa.ChunkedArray):
        matches = matches.combine_chunks()
    flat = pc.list_flatten(matches)
    parents = pc.list_parent_indices(matches).to_numpy(zero_copy_only=False)
    if len(capped):
        index = pc.index_in(flat, value_set=capped.names)
        is_capped = index.is_valid().to_numpy(zero_copy_only=False)
    else:
        index, is_capped = None, np.zeros(len(flat), bool)
    keep = np.bincount(parents[~is_capped], minlength=rows) > 0
    if index is None or not is_capped.any():
        return keep
    entry_rows = parents[is_capped]
    entry_query = pc.drop_null(index).to_numpy(zero_copy_only=False)
    undecided = ~keep[entry_rows]  # rows kept outright need no draw
    entry_rows, entry_query = entry_rows[undecided], entry_query[undecided]
    if len(entry_rows):
        drawn = np.unique(entry_rows)
        if isinstance(uids, (pa.Array, pa.ChunkedArray)):
            drawn_uids = uids.take(pa.array(drawn))
        else:
            drawn_uids = [uids[row] for row in drawn]
        row_keys = np.zeros(rows, np.uint64)
        row_keys[drawn] = hash64_array(drawn_uids)
        draws = (splitmix64_array(capped.keys[entry_query] ^ row_keys[entry_rows]) >> np.uint64(11)).astype(
            np.float64
        ) * 2.0**-53
        keep |= np.bincount(entry_rows[draws < capped.probability[entry_query]], minlength=rows) > 0
    return keep
