"""The queries that come from the text itself: unigrams by count, and bigrams by pointwise mutual
information, whose c(a) comes with them (a bigram is counted in its first token's shard) and
c(b) from a shard-wise join with the unigram count shards (never from a side input holding the
vocabulary). Counts are keyed by language
(``languages.lang_key``); PMI uses each language's own bigram total. A threshold language
(English) keeps CLIP's thresholds; a ranked language passes on, from each shard, only as many of
its best candidates as its whole list may hold, so no worker holds a language's vocabulary.
With a target size, each shard passes on only its best candidates."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator

import apache_beam as beam
from apache_beam import pvalue

from wit_builder.counting import merged
from wit_builder.hashing import shard_of
from wit_builder.queries.languages import join_words, lang_key, share_of, split_key
from wit_builder.queries.selection import ALWAYS_IN, Candidate, pmi
from wit_builder.queries.settings import QueryRules


def _best(candidates: Iterator[Candidate], limit: int | None) -> list[Candidate] | Iterator[Candidate]:
    """All candidates, or with a target size only a shard's ``limit`` best (the rest cannot win)."""
    return candidates if limit is None else heapq.nsmallest(limit, candidates, key=Candidate.rank_key)


def unigram_quota(lang: str, vocabulary: dict[str, int], rules: QueryRules) -> int:
    """How many unigrams a ranked language's list holds: a share of its distinct words."""
    return share_of(vocabulary.get(lang, 0), rules.unigram_share, rules.max_unigrams)


def bigram_quota(lang: str, vocabulary: dict[str, int], rules: QueryRules) -> int:
    """How many bigrams a ranked language's list holds: a share of its unigram quota."""
    return share_of(unigram_quota(lang, vocabulary, rules), rules.bigram_share, rules.max_bigrams)


def _ranked_best(by_language: dict[str, list[Candidate]], quota) -> Iterator[Candidate]:
    """Each ranked language's best ``quota(lang)`` candidates of this shard."""
    for lang, candidates in by_language.items():
        yield from heapq.nsmallest(quota(lang), candidates, key=Candidate.rank_key)


def unigram_candidates(shard_counts: tuple[int, dict], rules: QueryRules, vocabulary: dict[str, int]) -> Iterator:
    _, counts = shard_counts
    thresholded: list[Candidate] = []
    ranked: dict[str, list[Candidate]] = {}
    for key, count in counts.items():
        lang, token = split_key(key)
        if len(token) > rules.max_query_chars:
            continue
        if rules.ranked(lang):
            ranked.setdefault(lang, []).append(Candidate(token, "unigram", float(count), count, lang))
        elif rules.target_size is not None or count >= rules.min_unigram_count or token in ALWAYS_IN:
            thresholded.append(Candidate(token, "unigram", float(count), count, lang))
    yield from _best(iter(thresholded), rules.target_size)
    yield from _ranked_best(ranked, lambda lang: unigram_quota(lang, vocabulary, rules))


def distinct_words(shard_counts: tuple[int, dict]) -> Iterator[tuple[str, int]]:
    """(language, distinct words) of one unigram shard."""
    _, counts = shard_counts
    per_language: dict[str, int] = {}
    for key in counts:
        lang = split_key(key)[0]
        per_language[lang] = per_language.get(lang, 0) + 1
    yield from per_language.items()


def pmi_word_limit(total_bigrams: int, rules: QueryRules) -> float:
    """The largest count a word of a bigram with PMI >= T can have.

    PMI >= T means c(a,b)·N >= 2^T·c(a)·c(b); since c(a,b) <= c(b), c(a) <= N / 2^T (and the
    same for b). Words more frequent than that cannot be part of a kept bigram, so their bigrams
    leave the join early. With a target size there is no threshold, and no limit.
    """
    return math.inf if rules.target_size is not None else total_bigrams / 2**rules.min_bigram_pmi


def _second_word(bigram: str) -> str:
    """The key of a bigram key's second word (``de<TAB>a b`` → ``de<TAB>b``)."""
    lang, words = split_key(bigram)
    return lang_key(lang, words.split(" ", 1)[1])


def attach_first_count(element, totals: dict[str, int], rules: QueryRules, shards: int) -> Iterator:
    """Join 1, one first-word shard (its tokens and the bigrams that start with them, counted
    together): bigrams with c(a) attached, re-sharded by the second word."""
    _, (unigrams, bigrams) = element
    limits = {lang: pmi_word_limit(total, rules) for lang, total in totals.items()}
    # The limit depends on the first word only: find the words within it once, in the unigram
    # shard, and most bigrams leave on one set lookup.
    within = {word for word, count in unigrams.items() if count <= limits.get(split_key(word)[0], -1)}
    if not within:
        return
    out: dict[int, dict[str, tuple[int, int]]] = {}
    for bigram, pair_count in bigrams.items():
        first = bigram.partition(" ")[0]
        if first in within and pair_count >= rules.min_bigram_count:
            out.setdefault(shard_of(_second_word(bigram), shards), {})[bigram] = (pair_count, unigrams[first])
    yield from out.items()


def score_bigrams(
    element, totals: dict[str, int], rules: QueryRules, vocabulary: dict[str, int]
) -> Iterator[Candidate]:
    """Join 2, one second-word shard: PMI for each bigram (with its language's N), kept by
    threshold or rank; a bigram's query is its two words as its language writes them."""
    _, grouped = element
    unigrams = merged(grouped["unigrams"])
    limits = {lang: pmi_word_limit(total, rules) for lang, total in totals.items()}
    pairs: dict[str, tuple[int, int]] = {}
    for blob in grouped["pairs"]:
        pairs.update(blob)
    thresholded: list[Candidate] = []
    ranked: dict[str, list[Candidate]] = {}
    for bigram, (pair_count, first_count) in pairs.items():
        lang, words = split_key(bigram)
        second_count = unigrams[_second_word(bigram)]
        if second_count > limits[lang]:
            continue
        score = pmi(pair_count, first_count, second_count, totals[lang])
        query = join_words(*words.split(" ", 1))
        if len(query) > rules.max_query_chars:
            continue
        if rules.ranked(lang):
            if score >= rules.min_bigram_pmi:
                ranked.setdefault(lang, []).append(Candidate(query, "bigram", score, pair_count, lang))
        elif rules.target_size is not None or score >= rules.min_bigram_pmi:
            thresholded.append(Candidate(query, "bigram", score, pair_count, lang))
    yield from _best(iter(thresholded), rules.target_size)
    yield from _ranked_best(ranked, lambda lang: bigram_quota(lang, vocabulary, rules))


class WordCandidates(beam.PTransform):
    """Count shards in (``CountDumpText``'s); unigram and bigram candidates, and the bigram
    stats, out."""

    def __init__(self, rules: QueryRules, shards: int):
        super().__init__()
        self.rules = rules
        self.shards = shards

    def expand(self, counts):
        rules = self.rules
        shard_counts = counts["shard_counts"]
        unigram_shards = shard_counts | "UnigramShards" >> beam.Map(lambda kv: (kv[0], kv[1][0]))
        # Each language's N for PMI: summed from the counting workers' totals, not by reading
        # every bigram key of every shard again.
        totals = counts["bigram_totals"] | "BigramsPerLanguage" >> beam.CombinePerKey(sum)
        vocabulary = (
            unigram_shards
            | "ShardDistinctWords" >> beam.FlatMap(distinct_words)
            | "DistinctWordsPerLanguage" >> beam.CombinePerKey(sum)
        )
        stats = [totals | "BigramsStat" >> beam.Map(lambda kv: ("bigrams", kv[1]))]  # summed with the other stats
        for part, name in enumerate(("distinct_unigrams", "distinct_bigrams")):
            stats.append(
                shard_counts | f"Size{name}" >> beam.Map(lambda kv, part=part, name=name: (name, len(kv[1][part])))
            )

        words = pvalue.AsDict(vocabulary)
        unigrams = unigram_shards | "UnigramCandidates" >> beam.FlatMap(unigram_candidates, rules, words)
        total = pvalue.AsDict(totals)
        by_second = shard_counts | "AttachFirstCount" >> beam.FlatMap(attach_first_count, total, rules, self.shards)
        bigrams = (
            {"pairs": by_second, "unigrams": unigram_shards}
            | "JoinSecondCount" >> beam.CoGroupByKey()
            | "ScorePMI" >> beam.FlatMap(score_bigrams, total, rules, words)
        )
        return {"unigram": unigrams, "bigram": bigrams, "stats": stats, "vocabulary": vocabulary}
