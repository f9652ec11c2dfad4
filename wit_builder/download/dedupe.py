"""Exact and near-duplicate images, decided so that it scales and never depends on order.

**Exact**: images with the same SHA-256 of their stored bytes are one image; the smallest uid is
kept and the others are ``duplicate`` of it.

**Near**: two kept images are near copies when their 64-bit perceptual hashes differ in at most
``max_distance`` bits (a resized or re-encoded copy differs in 0–4), their original aspect
ratios differ by at most ``aspect_tolerance`` (a copy keeps its shape), and their 4×4 colour
grids differ by at most ``grid_tolerance`` levels in every cell and channel (a copy keeps its
colours). The last two checks keep apart low-content images, such as a plain background with
one shape, whose grey hashes collide (docs/stages/download.md, "Dedupe").

Comparing every pair is quadratic, so the hash is cut into ``max_distance + 1`` bands: two
hashes within ``max_distance`` bits agree exactly on at least one band (pigeonhole), so only
images sharing a (band, value) key are compared. Inside a group, pairs are compared
with numpy; a group larger than ``FAISS_FROM`` goes to a faiss binary index (range search).

The rule for near copies: an image is a duplicate of the smallest uid among its near copies,
when that uid is smaller than its own. It needs no order of arrival and no global pass, so it
gives the same answer on any runner. In a chain a ~ b ~ c (a < b < c) where a and c are not near
each other, c is dropped as a copy of b although b is dropped too: a chain of near copies keeps
its first member only, which errs on the side of fewer near-identical images.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from wit_builder.download.images import grid_distance

FAISS_FROM = 2048  # group size from which a faiss binary index beats the numpy comparison


@dataclass(frozen=True)
class HashedImage:
    uid: str
    sha256: str
    phash: int  # signed 64-bit, as stored
    aspect: float  # original width / height
    grid: bytes = b""  # 4×4 RGB colour grid; empty: not checked


def unsigned(phash: int) -> int:
    return phash & ((1 << 64) - 1)


def band_widths(max_distance: int) -> list[int]:
    """``max_distance + 1`` band widths (bits) that add up to 64, as equal as possible."""
    bands = max_distance + 1
    if not 1 <= bands <= 64:
        raise ValueError(f"max_distance must be 0..63, not {max_distance}")
    return [64 // bands + (1 if k < 64 % bands else 0) for k in range(bands)]


def band_keys(phash: int, max_distance: int) -> list[tuple[int, int]]:
    """(band, value) keys of a hash: near copies share at least one."""
    value = unsigned(phash)
    keys = []
    shift = 64
    for band, width in enumerate(band_widths(max_distance)):
        shift -= width
        keys.append((band, (value >> shift) & ((1 << width) - 1)))
    return keys


def exact_duplicates(group: Iterable[HashedImage]) -> tuple[HashedImage, list[tuple[str, str]]]:
    """The kept image of a same-SHA-256 group, and (uid, duplicate_of) for the others."""
    members = sorted(group, key=lambda image: image.uid)
    kept = members[0]
    return kept, [(image.uid, kept.uid) for image in members[1:]]


def _hash_array(images: list[HashedImage]) -> np.ndarray:
    return np.array([unsigned(image.phash) for image in images], dtype=np.uint64)


def _close_pairs_numpy(hashes: np.ndarray, max_distance: int) -> Iterator[tuple[int, int]]:
    for i in range(len(hashes) - 1):
        distances = np.bitwise_count(hashes[i + 1 :] ^ hashes[i])
        for j in np.flatnonzero(distances <= max_distance):
            yield i, i + 1 + int(j)


def _has_faiss() -> bool:
    """faiss comes with the ``faiss`` or ``gpu`` extra; without it, large groups use numpy too."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def _close_pairs_faiss(hashes: np.ndarray, max_distance: int) -> Iterator[tuple[int, int]]:
    import faiss

    codes = hashes.astype(">u8").view(np.uint8).reshape(-1, 8)  # big-endian: bit order is irrelevant
    index = faiss.IndexBinaryFlat(64)
    index.add(codes)
    limits, _, labels = index.range_search(codes, max_distance + 1)  # distances < radius
    for i in range(len(hashes)):
        for j in labels[limits[i] : limits[i + 1]]:
            if j > i:
                yield i, int(j)


def near_pairs(
    group: list[HashedImage], max_distance: int, aspect_tolerance: float, grid_tolerance: int = 8
) -> Iterator[tuple[str, str]]:
    """(larger uid, smaller uid) for every near-copy pair in a group."""
    if len(group) < 2:
        return
    hashes = _hash_array(group)
    pairs = _close_pairs_faiss if len(group) >= FAISS_FROM and _has_faiss() else _close_pairs_numpy
    limit = math.log1p(aspect_tolerance)
    for i, j in pairs(hashes, max_distance):
        a, b = group[i], group[j]
        if a.uid == b.uid or abs(math.log(a.aspect / b.aspect)) > limit:
            continue
        if a.grid and b.grid and grid_distance(a.grid, b.grid) > grid_tolerance:
            continue
        yield (a.uid, b.uid) if a.uid > b.uid else (b.uid, a.uid)
