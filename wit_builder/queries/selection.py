"""Which candidates become queries: thresholds or a target size, and the union of the sources.

Pure functions over plain rows, so every rule is tested without a pipeline; the Beam pipeline
(``pipeline.py``) computes the candidates at scale and calls these on the final, small lists.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

# MetaCLIP's order: a query produced by several sources is listed under the first.
SOURCE_ORDER = ("wordnet", "unigram", "bigram", "title")
# MetaCLIP's published sizes (thousands): WordNet synsets, unigrams with count >= 100, bigrams
# with PMI >= 30, titles with >= 70 views. --target-size keeps these proportions.
METACLIP_SIZES = {"wordnet": 86.7, "unigram": 251.0, "bigram": 100.6, "title": 61.0}
ALWAYS_IN = tuple(str(n) for n in range(100))  # the numbers 0-99
# The source of a number the dumps never showed, added because every list holds 0-99: a source of
# its own, so the report says how many of a list's queries are such numbers (500 of the demo's
# 1,252, across five languages), not hidden among the unigrams.
NUMBER_SOURCE = "number"


@dataclass(frozen=True)
class Candidate:
    """A would-be query: its source, what admitted it (count, PMI or views), its count in its
    language's article text, and its language (a wiki's code)."""

    query: str
    source: str
    score: float
    occurrences: int
    lang: str = "en"

    def rank_key(self) -> tuple[float, int, str]:
        """Best first: higher score, then more occurrences, then the query text (deterministic)."""
        return (-self.score, -self.occurrences, self.query)


def pmi(pair_count: int, first_count: int, second_count: int, total_bigrams: int) -> float:
    """Pointwise mutual information as NLTK's ``BigramAssocMeasures.pmi``:
    log2(c(a,b) · N) − log2(c(a) · c(b)), with N the total number of bigrams."""
    return math.log2(pair_count * total_bigrams) - math.log2(first_count * second_count)


def union(
    candidates: Mapping[str, Sequence[Candidate]], quotas: Mapping[str, int] | None = None
) -> tuple[list[Candidate], dict[str, int]]:
    """Every candidate once, under the first source (in ``SOURCE_ORDER``) that produced it;
    with ``quotas``, each source's best ``quotas[source]`` candidates only (before overlaps are
    removed), as a ranked language's list is cut.

    Returns the queries and, per source, how many of its candidates an earlier source already had.
    """
    taken: set[str] = set()
    chosen: list[Candidate] = []
    overlap = {source: 0 for source in SOURCE_ORDER}
    for source in SOURCE_ORDER:
        ranked = sorted(candidates.get(source, ()), key=Candidate.rank_key)
        if quotas is not None and source in quotas:
            ranked = ranked[: quotas[source]]
        for candidate in ranked:
            if candidate.query in taken:
                overlap[source] += 1
                continue
            taken.add(candidate.query)
            chosen.append(candidate)
    return chosen, overlap


def apportion(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split ``total`` into integers proportional to ``weights`` (largest remainders, ties by name)."""
    weight_sum = sum(weights.values())
    if total <= 0 or weight_sum <= 0:
        return {name: 0 for name in weights}
    exact = {name: total * weight / weight_sum for name, weight in weights.items()}
    shares = {name: math.floor(value) for name, value in exact.items()}
    leftover = total - sum(shares.values())
    for name in sorted(exact, key=lambda n: (shares[n] - exact[n], n))[:leftover]:
        shares[name] += 1
    return shares


def select_target_size(
    candidates: Mapping[str, Sequence[Candidate]],
    target: int,
    forced: Iterable[Candidate] = (),
) -> tuple[list[Candidate], dict[str, int]]:
    """``target`` queries in MetaCLIP's proportions, each source's best-ranked first.

    ``forced`` candidates (the numbers 0-99) are always in and count towards their source's
    share. When a source runs out, or loses candidates to overlap with an earlier source, its
    unused share goes to the sources that still have candidates, in proportion, until the
    target is met or every source is exhausted.
    """
    ranked = {s: sorted(candidates.get(s, ()), key=Candidate.rank_key) for s in SOURCE_ORDER}
    position = dict.fromkeys(SOURCE_ORDER, 0)
    taken: set[str] = set()
    chosen: dict[str, list[Candidate]] = {s: [] for s in SOURCE_ORDER}
    overlap = dict.fromkeys(SOURCE_ORDER, 0)
    for candidate in forced:
        if candidate.query not in taken:
            taken.add(candidate.query)
            chosen[candidate.source].append(candidate)
    quota = apportion(target, METACLIP_SIZES)
    while len(taken) < target:
        for source in SOURCE_ORDER:
            items = ranked[source]
            while len(chosen[source]) < quota[source] and position[source] < len(items):
                candidate = items[position[source]]
                position[source] += 1
                if candidate.query in taken:
                    overlap[source] += 1
                    continue
                taken.add(candidate.query)
                chosen[source].append(candidate)
        shortfall = target - len(taken)
        open_sources = {s: METACLIP_SIZES[s] for s in SOURCE_ORDER if position[s] < len(ranked[s])}
        if shortfall <= 0 or not open_sources:
            break
        for source, extra in apportion(shortfall, open_sources).items():
            quota[source] = len(chosen[source]) + extra
    return [c for s in SOURCE_ORDER for c in chosen[s]], overlap
