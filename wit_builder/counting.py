"""Distributed counting in blobs: counts travel as dicts, one per shard, not one element per key.

A Beam element costs tens of microseconds of overhead on the Python runners, so shuffling one
element per distinct word or bigram costs more than counting them. Here every worker sums its
bundle into a dict per shard (a stable hash of the key picks the shard), blobs of one shard are
merged by ``SumCountDicts`` (lifted before the shuffle, so a hot key is summed on each worker
first), and joins are done shard by shard. A shard holds 1/S of the keys, so no worker ever
holds the whole vocabulary; S is a flag (``--count-shards``), and the result does not depend
on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import apache_beam as beam

from wit_builder.hashing import shard_of


def split_by_shard(counts: Mapping[str, int], shards: int, shard_key=None) -> Iterator[tuple[int, dict[str, int]]]:
    """(shard, counts of the keys in that shard); ``shard_key`` picks the part of a key that
    decides its shard (the first word of a bigram, say)."""
    parts: dict[int, dict[str, int]] = {}
    for key, count in counts.items():
        shard = shard_of(shard_key(key) if shard_key else key, shards)
        parts.setdefault(shard, {})[key] = count
    yield from parts.items()


def add_counts(total: dict, more: Mapping) -> dict:
    for key, count in more.items():
        total[key] = total.get(key, 0) + count
    return total


class SumCountDicts(beam.CombineFn):
    """Sums count dicts key by key."""

    def create_accumulator(self) -> dict:
        return {}

    def add_input(self, accumulator: dict, counts: Mapping) -> dict:
        if not accumulator:  # the first blob: copied in C (an input must not be changed)
            return dict(counts)
        return add_counts(accumulator, counts)

    def merge_accumulators(self, accumulators: Iterable[dict]) -> dict:
        accumulators = iter(accumulators)
        total = next(accumulators, {})
        for accumulator in accumulators:
            add_counts(total, accumulator)
        return total

    def extract_output(self, accumulator: dict) -> dict:
        return accumulator


class SumCountDictPairs(beam.CombineFn):
    """Sums pairs of count dicts, element by element: a shard's two kinds of counts (its tokens
    and the bigrams that start with them) travel and merge together, so their join needs no
    second shuffle of the larger kind."""

    def create_accumulator(self) -> tuple[dict, dict] | None:
        return None

    def add_input(self, accumulator: tuple[dict, dict] | None, counts: tuple[Mapping, Mapping]) -> tuple[dict, dict]:
        if accumulator is None:  # the first pair: copied in C (an input must not be changed)
            return dict(counts[0]), dict(counts[1])
        add_counts(accumulator[0], counts[0])
        add_counts(accumulator[1], counts[1])
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[tuple[dict, dict] | None]) -> tuple[dict, dict] | None:
        total = None
        for accumulator in accumulators:
            if accumulator is None:
                continue
            if total is None:
                total = accumulator  # Beam lets the first accumulator be changed
            else:
                add_counts(total[0], accumulator[0])
                add_counts(total[1], accumulator[1])
        return total

    def extract_output(self, accumulator: tuple[dict, dict] | None) -> tuple[dict, dict]:
        return accumulator if accumulator is not None else ({}, {})


def merged(blobs: Iterable[Mapping]) -> dict:
    """One dict from the blobs a join hands over (after a combine, usually just one: copied in C)."""
    blobs = iter(blobs)
    total = dict(next(blobs, {}))
    for blob in blobs:
        add_counts(total, blob)
    return total
