"""Semantic deduplication (SemDeDup, Abbas et al. 2023): near copies that a perceptual hash
misses (a product photo re-shot, a scene re-rendered with small shifts), found by their image
embeddings.

1. Spherical k-means over the L2-normalised embeddings (faiss; k about √N, so a cluster holds
   about √N samples);
2. within each cluster, in order of score (the pair's CLIP score, highest first; ties by
   position), a sample is kept unless its cosine to a sample already kept exceeds 1 − ε, in
   which case it is a duplicate of the most similar kept one.

Memory grows with the centroids and the largest cluster, not with the pairs between all N
samples: the assignment is one integer a sample, and each cluster's similarities are computed
on its own. Two near copies that k-means puts in different clusters are not compared; against
an exact pass over all pairs the answers agree on 99.9% of samples at 10⁵
(``benchmarks/bench_semdedup.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_POINTS_PER_CENTROID = 256
DEFAULT_EPSILON = 0.05  # cosine above 0.95: a near copy (SemDeDup's thresholds run 0.02-0.3)


@dataclass(frozen=True)
class Dedup:
    """Per sample: ``kept``; ``duplicate_of`` (the index of the kept sample it copies, -1 when
    kept); ``similarity`` (its cosine to that sample, NaN when kept); ``cluster``."""

    kept: np.ndarray
    duplicate_of: np.ndarray
    similarity: np.ndarray
    cluster: np.ndarray


def faiss_module():
    """faiss (faiss-cpu, or faiss-gpu on GPU machines); without it, a usage error saying how to
    install it."""
    try:
        import faiss
    except ImportError as error:
        from wit_builder.errors import UsageError

        raise UsageError(f"curation needs faiss: pip install 'wit-builder[faiss]' (or [gpu]) ({error})") from None
    return faiss


def clusters_for(samples: int) -> int:
    """k about √N, at least 1 and never more than the samples."""
    return max(1, min(samples, round(math.sqrt(samples))))


def train_centroids(embeddings: np.ndarray, k: int, seed: int = 0, iterations: int = 20) -> np.ndarray:
    """k unit centroids (k × d): faiss's spherical k-means, trained on at most 256 samples a
    centroid (faiss's own cap; more change nothing but the time), on the GPU when faiss-gpu
    finds one."""
    faiss = faiss_module()
    x = np.ascontiguousarray(embeddings, np.float32)
    on_gpu = hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0  # faiss-gpu installed, and a GPU
    kmeans = faiss.Kmeans(x.shape[1], k, niter=iterations, seed=seed, spherical=True, verbose=False,
                          max_points_per_centroid=MAX_POINTS_PER_CENTROID, min_points_per_centroid=1,
                          gpu=on_gpu)  # fmt: skip
    kmeans.train(x)
    return np.ascontiguousarray(kmeans.centroids, np.float32)


class Assigner:
    """Each sample's nearest centroid by inner product, through one exact faiss index built
    once: memory is the centroids'."""

    def __init__(self, centroids: np.ndarray):
        faiss = faiss_module()
        self.index = faiss.IndexFlatIP(centroids.shape[1])
        self.index.add(np.ascontiguousarray(centroids, np.float32))

    def __call__(self, embeddings: np.ndarray) -> np.ndarray:
        if len(embeddings) == 0:
            return np.zeros(0, np.int64)
        _, assigned = self.index.search(np.ascontiguousarray(embeddings, np.float32), 1)
        return assigned[:, 0].astype(np.int64)


def spherical_kmeans(embeddings: np.ndarray, k: int, seed: int = 0, iterations: int = 20) -> np.ndarray:
    """Each sample's cluster: centroids trained on them, then every sample assigned."""
    return Assigner(train_centroids(embeddings, k, seed, iterations))(embeddings)


def kmeans_share(samples: int, k: int, cap: int) -> float:
    """The share of ``samples`` that trains the k-means: all of them up to 256 a centroid
    (faiss's cap) and at most ``cap`` samples in all, so that the training set's memory grows
    with the centroids, not with N."""
    wanted = min(k * MAX_POINTS_PER_CENTROID, cap)
    return 1.0 if samples <= wanted else wanted / samples


def in_kmeans_sample(uids: Sequence[str], seed: int, share: float) -> np.ndarray:
    """Which samples train the k-means: chosen by a hash of the uid and the seed, so the same
    wherever and in whatever order the samples are read."""
    if share >= 1.0:
        return np.ones(len(uids), bool)
    from wit_builder.capping.sampling import splitmix64_array
    from wit_builder.hashing import hash64_array

    drawn = splitmix64_array(hash64_array(list(uids)) ^ np.uint64(seed)) >> np.uint64(11)
    return drawn.astype(np.float64) * 2.0**-53 < share


def semantic_dedup(
    embeddings: np.ndarray,
    scores: np.ndarray | None = None,
    epsilon: float = DEFAULT_EPSILON,
    clusters: int | None = None,
    seed: int = 0,
) -> Dedup:
    """SemDeDup over L2-normalised ``embeddings`` (N × d), all in memory. ``scores``: which of
    two copies to keep (higher first; None: the earlier one); ``clusters``: k (default
    ``clusters_for(N)``)."""
    n = len(embeddings)
    x = np.ascontiguousarray(embeddings, np.float32)
    if not np.isfinite(x).all():
        raise ValueError("embeddings hold NaN or infinity; they cannot be compared")
    order_key = np.zeros(n, np.float64) if scores is None else -np.asarray(scores, np.float64)
    k = min(clusters or clusters_for(n), n)  # more clusters than samples asked for: one sample a cluster at most
    cluster = spherical_kmeans(x, k, seed) if n > 1 else np.zeros(n, np.int64)
    kept = np.ones(n, bool)
    duplicate_of = np.full(n, -1, np.int64)
    similarity = np.full(n, np.nan, np.float32)
    by_cluster = np.argsort(cluster, kind="stable")
    bounds = np.flatnonzero(np.diff(cluster[by_cluster])) + 1
    for members in np.split(by_cluster, bounds):
        members = members[np.lexsort((members, order_key[members]))]  # best score first, then position
        copies, cosines = dedup_ordered(x[members], epsilon)
        found = copies >= 0
        kept[members[found]] = False
        duplicate_of[members[found]] = members[copies[found]]
        similarity[members[found]] = cosines[found]
    return Dedup(kept, duplicate_of, similarity, cluster)


def dedup_ordered(x: np.ndarray, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """The greedy rule within one cluster whose rows are in order, best first: each row against
    the rows kept before it. Returns, per row, the position of the kept row it copies (-1:
    kept) and the cosine to it (NaN: kept). Its memory is the cluster's pairs: about N in all
    for k about √N, never N²."""
    m = len(x)
    copies = np.full(m, -1, np.int64)
    cosines = np.full(m, np.nan, np.float32)
    if m == 0:
        return copies, cosines
    sims = x @ x.T
    threshold = 1.0 - epsilon
    chosen: list[int] = []
    for position in range(m):
        if chosen:
            row = sims[position, chosen]
            best = int(np.argmax(row))
            if row[best] > threshold:
                copies[position], cosines[position] = chosen[best], row[best]
                continue
        chosen.append(position)
    return copies, cosines


def exact_dedup(embeddings: np.ndarray, scores: np.ndarray | None = None, epsilon: float = DEFAULT_EPSILON):
    """The same greedy rule over all N samples at once, no clusters: the reference
    ``semantic_dedup`` is measured against. Neighbours within the threshold come from an exact
    faiss range search, so it runs at 10⁵ (not at 10⁶: its neighbour lists grow with N²)."""
    import faiss

    n = len(embeddings)
    x = np.ascontiguousarray(embeddings, np.float32)
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x)
    limits, _, labels = index.range_search(x, 1.0 - epsilon)
    order = np.lexsort((np.arange(n), np.zeros(n) if scores is None else -np.asarray(scores, np.float64)))
    kept = np.zeros(n, bool)
    for sample in order:
        neighbours = labels[limits[sample] : limits[sample + 1]]
        if not kept[neighbours[neighbours != sample]].any():
            kept[sample] = True
    return kept
