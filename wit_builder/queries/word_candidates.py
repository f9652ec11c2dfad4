"""The queries that come from the text itself: unigrams by count, and bigrams by pointwise mutual
information, whose c(a) and c(b) come from two shard-wise joins with the unigram count shards
(never from a side input holding the vocabulary). With a target size, each shard passes on only
its best candidates."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator

import apache_beam as beam
from apache_beam import pvalue

from wit_builder.counting import merged
from wit_builder.hashing import shard_of
from wit_builder.queries.selection import ALWAYS_IN, Candidate, pmi
from wit_builder.queries.settings import QueryRules


def _best(candidates: Iterator[Candidate], limit: int | None) -> list[Candidate] | Iterator[Candidate]:
    """All candidates, or with a target size only a shard's ``limit`` best (the rest cannot win)."""
    return candidates if limit is None else heapq.nsmallest(limit, candidates, key=Candidate.rank_key)


def unigram_candidates(shard_counts: tuple[int, dict], rules: QueryRules) -> Iterator[Candidate]:
    _, counts = shard_counts
    kept = (
        Candidate(token, "unigram", float(count), count)
        for token, count in counts.items()
        if rules.target_size is not None or count >= rules.min_unigram_count or token in ALWAYS_IN
    )
    yield from _best(kept, rules.target_size)


def pmi_word_limit(total_bigrams: int, rules: QueryRules) -> float:
    """The largest count a word of a bigram with PMI >= T can have.

    PMI >= T means c(a,b)·N >= 2^T·c(a)·c(b); since c(a,b) <= c(b), c(a) <= N / 2^T (and the
    same for b). Words more frequent than that cannot be part of a kept bigram, so their bigrams
    leave the join early. With a target size there is no threshold, and no limit.
    """
    return math.inf if rules.target_size is not None else total_bigrams / 2**rules.min_bigram_pmi


def attach_first_count(element, total_bigrams: int, rules: QueryRules, shards: int) -> Iterator:
    """Join 1, one first-word shard: bigrams with c(a) attached, re-sharded by the second word."""
    _, grouped = element
    unigrams = merged(grouped["unigrams"])
    limit = pmi_word_limit(total_bigrams, rules)
    out: dict[int, dict[str, tuple[int, int]]] = {}
    for bigram, pair_count in merged(grouped["bigrams"]).items():
        if pair_count < rules.min_bigram_count:
            continue
        first, second = bigram.split(" ", 1)
        first_count = unigrams[first]
        if first_count <= limit:
            out.setdefault(shard_of(second, shards), {})[bigram] = (pair_count, first_count)
    yield from out.items()


def score_bigrams(element, total_bigrams: int, rules: QueryRules) -> Iterator[Candidate]:
    """Join 2, one second-word shard: PMI for each bigram, kept by threshold or rank."""
    _, grouped = element
    unigrams = merged(grouped["unigrams"])
    limit = pmi_word_limit(total_bigrams, rules)
    pairs: dict[str, tuple[int, int]] = {}
    for blob in grouped["pairs"]:
        pairs.update(blob)

    def scored() -> Iterator[Candidate]:
        for bigram, (pair_count, first_count) in pairs.items():
            second_count = unigrams[bigram.split(" ", 1)[1]]
            if second_count > limit:
                continue
            score = pmi(pair_count, first_count, second_count, total_bigrams)
            if rules.target_size is not None or score >= rules.min_bigram_pmi:
                yield Candidate(bigram, "bigram", score, pair_count)

    yield from _best(scored(), rules.target_size)


class WordCandidates(beam.PTransform):
    """Count shards in (``CountDumpText``'s); unigram and bigram candidates, and the bigram
    stats, out."""

    def __init__(self, rules: QueryRules, shards: int):
        super().__init__()
        self.rules = rules
        self.shards = shards

    def expand(self, counts):
        rules = self.rules
        unigram_shards, bigram_shards = counts["unigram_shards"], counts["bigram_shards"]
        total_bigrams = (
            bigram_shards
            | "ShardBigramTotals" >> beam.Map(lambda kv: sum(kv[1].values()))
            | "TotalBigrams" >> beam.CombineGlobally(sum)
        )
        stats = [total_bigrams | "BigramsStat" >> beam.Map(lambda n: ("bigrams", n))]
        for name, shards in (("distinct_unigrams", unigram_shards), ("distinct_bigrams", bigram_shards)):
            stats.append(shards | f"Size{name}" >> beam.Map(lambda kv, name=name: (name, len(kv[1]))))

        unigrams = unigram_shards | "UnigramCandidates" >> beam.FlatMap(unigram_candidates, rules)
        total = pvalue.AsSingleton(total_bigrams)
        by_second = (
            {"bigrams": bigram_shards, "unigrams": unigram_shards}
            | "JoinFirstCount" >> beam.CoGroupByKey()
            | "AttachFirstCount" >> beam.FlatMap(attach_first_count, total, rules, self.shards)
        )
        bigrams = (
            {"pairs": by_second, "unigrams": unigram_shards}
            | "JoinSecondCount" >> beam.CoGroupByKey()
            | "ScorePMI" >> beam.FlatMap(score_bigrams, total, rules)
        )
        return {"unigram": unigrams, "bigram": bigrams, "stats": stats}
