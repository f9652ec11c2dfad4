"""Near and exact duplicates: the banding never misses a pair within the distance, numpy and
faiss agree, and resized or re-encoded copies are found while different pictures are not."""

from __future__ import annotations

import io
import random

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from PIL import Image

from wit_builder.download import dedupe
from wit_builder.download.dedupe import HashedImage, band_keys, band_widths, exact_duplicates
from wit_builder.download.dedupe_transforms import NearDuplicates
from wit_builder.download.images import perceptual_hash

from .test_images import encoded, hamming, photo_like


def signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def test_bands_cover_64_bits_and_near_hashes_share_one():
    assert band_widths(4) == [13, 13, 13, 13, 12] and sum(band_widths(7)) == 64
    rng = random.Random(0)
    for _ in range(2000):
        a = rng.getrandbits(64)
        b = a
        for bit in rng.sample(range(64), rng.randint(0, 4)):
            b ^= 1 << bit
        assert set(band_keys(signed(a), 4)) & set(band_keys(signed(b), 4))


def test_exact_duplicates_keep_the_smallest_uid():
    group = [HashedImage(u, "s", 0, 1.0) for u in ("c", "a", "b")]
    kept, dropped = exact_duplicates(group)
    assert kept.uid == "a" and dropped == [("b", "a"), ("c", "a")]


def test_numpy_and_faiss_find_the_same_pairs():
    pytest.importorskip("faiss", reason="the faiss extra (faiss-cpu or faiss-gpu) is not installed")
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**63, size=300, dtype=np.uint64)
    flips = (np.uint64(1) << rng.integers(0, 64, size=300).astype(np.uint64)) * (rng.random(300) < 0.5)
    hashes = np.concatenate([base, base ^ flips.astype(np.uint64)])
    numpy_pairs = set(dedupe._close_pairs_numpy(hashes, 3))
    faiss_pairs = set(dedupe._close_pairs_faiss(hashes, 3))
    assert numpy_pairs == faiss_pairs and len(numpy_pairs) >= 300


def hashed(uid: str, image: Image.Image) -> HashedImage:
    return HashedImage(uid, uid, perceptual_hash(image), image.width / image.height)


def assert_near_duplicates(images: list[HashedImage], expected: dict[str, str], **rules) -> None:
    """Run the stage's own ``NearDuplicates`` transform on ``images`` and check uid → copy of.
    Each record's tag is its uid + "!", to show the tag travels with the duplicate."""
    with BeamTestPipeline(runner=FnApiRunner()) as pipeline:
        found = pipeline | beam.Create([(image, image.uid + "!") for image in images]) | NearDuplicates(**rules)
        assert_that(found, equal_to([(uid, (of, uid + "!")) for uid, of in expected.items()]))


def test_resized_and_reencoded_copies_are_found_and_others_are_not():
    images = []
    for seed in range(40):
        original = photo_like(seed)
        images.append(hashed(f"{seed:03d}-a", original))
        half = original.resize((original.width // 2, original.height // 2), Image.Resampling.BILINEAR)
        images.append(hashed(f"{seed:03d}-b", Image.open(io.BytesIO(encoded(half, "JPEG", quality=70)))))
    assert_near_duplicates(images, {f"{seed:03d}-b": f"{seed:03d}-a" for seed in range(40)}, max_distance=4)


def test_the_aspect_ratio_keeps_lookalikes_apart():
    same_hash = [
        HashedImage("a", "1", 12345, 1.0),
        HashedImage("b", "2", 12345, 1.5),
        HashedImage("c", "3", 12345, 1.02),
    ]
    assert_near_duplicates(same_hash, {"c": "a"})


def test_large_groups_go_through_faiss(monkeypatch):
    pytest.importorskip("faiss", reason="the faiss extra (faiss-cpu or faiss-gpu) is not installed")
    monkeypatch.setattr(dedupe, "FAISS_FROM", 4)
    searched: list[int] = []
    faiss_pairs = dedupe._close_pairs_faiss

    def recording(hashes, max_distance):
        searched.append(len(hashes))
        yield from faiss_pairs(hashes, max_distance)

    monkeypatch.setattr(dedupe, "_close_pairs_faiss", recording)  # FnApiRunner runs in this process
    images = [HashedImage(f"u{k}", str(k), signed(0xFFFF0000FFFF0000 ^ (1 << k)), 1.0) for k in range(8)]
    assert hamming(images[1].phash, images[2].phash) == 2
    assert_near_duplicates(images, {f"u{k}": "u0" for k in range(1, 8)}, max_distance=2)
    assert searched and max(searched) == 8, "the large group was not searched with faiss"
