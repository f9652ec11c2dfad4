"""The sampling rule: a pure function of (seed, query, uid), vectorised exactly as written."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pytest

from wit_builder.capping.sampling import CappedQueries, draw, keep_probability, keep_rows, splitmix64
from wit_builder.hashing import hash64, hash64_array


def test_keep_probability():
    assert keep_probability(100, 200) == 1.0
    assert keep_probability(200, 200) == 1.0
    assert keep_probability(400, 200) == 0.5
    assert keep_probability(800, 200, oversample=2.0) == 0.5
    assert keep_probability(0, 200) == 1.0


def test_draw_is_a_pure_uniform_function():
    assert draw(0, "red", "abc") == draw(0, "red", "abc")
    assert draw(0, "red", "abc") != draw(1, "red", "abc") != draw(0, "blue", "abc")
    values = np.array([draw(7, "red", f"uid{i}") for i in range(20_000)])
    assert values.min() >= 0 and values.max() < 1
    assert abs(values.mean() - 0.5) < 0.01  # σ of the mean is 0.002
    histogram, _ = np.histogram(values, bins=10, range=(0, 1))
    assert histogram.min() > 1800 and histogram.max() < 2200


def test_splitmix64_known_value():
    # The finaliser of Steele, Lea and Flood's SplitMix64 applied to the first state increment.
    assert splitmix64(0x9E3779B97F4A7C15) == 0xE220A8397B1DCDAF


@pytest.mark.parametrize("seed", [0, 3])
def test_vectorised_decisions_equal_the_scalar_rule(seed):
    matched = {"head": 1000, "mid": 400, "tail": 10}
    per_query = 200
    capped = CappedQueries.build(matched, per_query, 1.0, seed)
    assert capped.names.to_pylist() == ["head", "mid"]  # "tail" keeps everything: no draw needed
    rng = np.random.default_rng(seed)
    names = ["head", "mid", "tail"]
    rows = [sorted(set(rng.choice(names, size=rng.integers(0, 3)).tolist())) for _ in range(5000)]
    uids = [f"{i:032x}" for i in range(len(rows))]
    got = keep_rows(pa.array(uids), pa.array(rows, pa.list_(pa.string())), capped)

    def expected(uid, matches):
        return any(draw(seed, q, uid) < keep_probability(matched[q], per_query) for q in matches)

    assert got.tolist() == [expected(uid, matches) for uid, matches in zip(uids, rows, strict=True)]
    assert 0 < got.sum() < len(rows)


def test_rows_without_a_capped_query_are_kept_and_rows_without_matches_are_not():
    capped = CappedQueries.build({"head": 10_000}, 10, 1.0, 0)
    got = keep_rows(["a", "b", "c"], pa.array([["tail"], [], ["head", "tail"]], pa.list_(pa.string())), capped)
    assert got.tolist() == [True, False, True]


def test_no_capped_queries_keeps_every_matched_row():
    capped = CappedQueries.build({"a": 5}, 10, 1.0, 0)
    assert len(capped) == 0
    got = keep_rows(["x", "y"], pa.array([["a"], ["b"]], pa.list_(pa.string())), capped)
    assert got.tolist() == [True, True]


def test_hash64_array_is_hash64_of_each_string():
    texts = ["", "a", "00005c43ce67657702d2f871f457e65b", "Zürich 東京", "x" * 300]
    expected = [hash64(text) for text in texts]
    assert hash64_array(pa.array(texts)).tolist() == expected
    assert hash64_array(texts).tolist() == expected
    # blake2b(digest_size=8) is not the first 8 bytes of the 64-byte digest: the docs say which
    assert hash64("a") != int.from_bytes(hashlib.blake2b(b"a").digest()[:8], "big")
