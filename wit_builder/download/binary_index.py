"""Hamming-radius search over binary hashes: faiss's binary index when installed, numpy otherwise.

Hash blocklists and evaluation sets ask one question of many stored hashes: which lie within r
bits of this one? faiss (the ``faiss`` or ``gpu`` extra, as the near-dupe stage uses) answers it
with a SIMD scan; without faiss, numpy XORs and counts bits with a lookup table, in blocks, so
memory stays at one block whatever the number of hashes.
"""

from __future__ import annotations

import numpy as np

_POPCOUNT = np.array([bin(value).count("1") for value in range(256)], np.uint8)
BLOCK = 65_536  # stored hashes compared at once by the numpy path


def _faiss():
    try:
        import faiss
    except ImportError:
        return None
    return faiss


class BinaryIndex:
    """Hashes of ``nbytes`` bytes each; ``within(queries, radius)`` finds the stored ones near each query."""

    def __init__(self, nbytes: int):
        self.nbytes = nbytes
        faiss = _faiss()
        self.faiss_index = faiss.IndexBinaryFlat(nbytes * 8) if faiss is not None else None
        self.blocks: list[np.ndarray] = []

    def add(self, hashes: np.ndarray) -> None:
        """``hashes``: uint8 array of shape (n, nbytes)."""
        hashes = np.ascontiguousarray(hashes, np.uint8).reshape(-1, self.nbytes)
        if self.faiss_index is not None:
            self.faiss_index.add(hashes)
        else:
            self.blocks.append(hashes)

    @property
    def ntotal(self) -> int:
        if self.faiss_index is not None:
            return int(self.faiss_index.ntotal)
        return sum(len(block) for block in self.blocks)

    def within(self, queries: np.ndarray, radius: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per query: (labels, distances) of the stored hashes at most ``radius`` bits away."""
        queries = np.ascontiguousarray(queries, np.uint8).reshape(-1, self.nbytes)
        if not self.ntotal or not len(queries):
            return [(np.zeros(0, np.int64), np.zeros(0, np.int32)) for _ in range(len(queries))]
        if self.faiss_index is not None:
            limits, distances, labels = self.faiss_index.range_search(queries, radius + 1)  # faiss: < radius
            return [
                (
                    labels[limits[q] : limits[q + 1]].astype(np.int64),
                    distances[limits[q] : limits[q + 1]].astype(np.int32),
                )
                for q in range(len(queries))
            ]
        stored = np.concatenate(self.blocks) if len(self.blocks) > 1 else self.blocks[0]
        self.blocks = [stored]
        found = []
        for query in queries:
            labels, distances = [], []
            for start in range(0, len(stored), BLOCK):
                block = stored[start : start + BLOCK]
                bits = _POPCOUNT[np.bitwise_xor(block, query)].sum(axis=1, dtype=np.int32)
                near = np.flatnonzero(bits <= radius)
                labels.append(near + start)
                distances.append(bits[near])
            found.append((np.concatenate(labels).astype(np.int64), np.concatenate(distances).astype(np.int32)))
        return found
