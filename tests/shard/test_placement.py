"""Placement is a pure function of (seed, uid): shards are equal ranges of a 64-bit hash."""

from __future__ import annotations

import numpy as np
import pytest

from wit_builder.shard.placement import (
    index_digits,
    parse_size,
    placement_key,
    sample_key,
    shard_count,
    shard_digits,
    shard_for,
)


def test_shards_are_equal_ranges_of_key_space():
    assert [shard_for(key, 4) for key in (0, 2**62 - 1, 2**62, 2**63, 2**64 - 1)] == [0, 0, 1, 2, 3]
    assert shard_for(2**64 - 1, 1) == 0


def test_placement_depends_on_seed_and_uid_only():
    assert placement_key(0, "abc") == placement_key(0, "abc")
    assert placement_key(0, "abc") != placement_key(1, "abc")
    assert placement_key(0, "abc") != placement_key(0, "abd")


def test_shard_sizes_are_binomial_around_the_mean():
    """100,000 uids in 10 shards: every shard within 5 standard deviations (~1.6%) of 10,000."""
    shards = np.array([shard_for(placement_key(7, f"uid-{i}"), 10) for i in range(100_000)])
    sizes = np.bincount(shards, minlength=10)
    sigma = np.sqrt(100_000 * 0.1 * 0.9)
    assert np.all(np.abs(sizes - 10_000) < 5 * sigma), sizes


def test_shard_count_by_samples_or_bytes():
    assert shard_count(0, 0, 100, None) == 0
    assert shard_count(1, 10, 100, None) == 1
    assert shard_count(250, 0, 100, None) == 3
    assert shard_count(1000, 30_000_001, 100, 10_000_000) == 4


def test_keys_are_padded_and_plain():
    digits = (shard_digits(3), index_digits(10_000))
    assert digits == (6, 4)
    assert sample_key(2, 17, digits) == "0000020017"
    assert shard_digits(2_000_000) == 7
    assert "." not in sample_key(1, 1, digits) and "/" not in sample_key(1, 1, digits)


@pytest.mark.parametrize(
    ("text", "size"), [("1GB", 10**9), ("500MB", 5 * 10**8), ("2GiB", 2 * 2**30), ("64MiB", 64 * 2**20), ("1000", 1000)]
)
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "GB", "-1GB", "1XB", "0"])
def test_parse_size_refuses_nonsense(text):
    with pytest.raises(ValueError):
        parse_size(text)
