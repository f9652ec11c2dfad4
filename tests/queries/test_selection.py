"""PMI as NLTK defines it; the union in MetaCLIP's order; the target size."""

from __future__ import annotations

import math

import pytest
from nltk.metrics.association import BigramAssocMeasures

from wit_builder.queries.selection import ALWAYS_IN, Candidate, apportion, pmi, select_target_size, union


@pytest.mark.parametrize(("pair", "first", "second", "total"), [(1, 1, 1, 1024), (5, 40, 70, 10_000), (3, 3, 9, 77)])
def test_pmi_matches_nltk(pair, first, second, total):
    assert pmi(pair, first, second, total) == pytest.approx(BigramAssocMeasures.pmi(pair, (first, second), total))


def test_pmi_exact_for_exclusive_pairs():
    assert pmi(1, 1, 1, 1024) == 10.0 and pmi(2, 2, 2, 1024) == 9.0


def c(query, source, score=1.0, occurrences=1):
    return Candidate(query, source, score, occurrences)


def test_union_keeps_the_first_source_and_counts_overlap():
    chosen, overlap = union(
        {
            "title": [c("Paris", "title"), c("dog", "title")],
            "unigram": [c("dog", "unigram"), c("cat", "unigram")],
            "wordnet": [c("dog", "wordnet")],
            "bigram": [c("hot dog", "bigram")],
        }
    )
    assert [(x.query, x.source) for x in chosen] == [
        ("dog", "wordnet"),
        ("cat", "unigram"),
        ("hot dog", "bigram"),
        ("Paris", "title"),
    ]
    assert overlap == {"wordnet": 0, "unigram": 1, "bigram": 0, "title": 1}


def test_apportion_sums_exactly():
    shares = apportion(1000, {"wordnet": 86.7, "unigram": 251.0, "bigram": 100.6, "title": 61.0})
    assert sum(shares.values()) == 1000 and shares["unigram"] == 503
    assert apportion(0, {"a": 1.0}) == {"a": 0}


def test_target_size_hits_the_target_in_proportion():
    sources = ("wordnet", "unigram", "bigram", "title")
    pools = {source: [c(f"{source}{k}", source, score=k) for k in range(2000)] for source in sources}
    chosen, _ = select_target_size(pools, 1000)
    assert len(chosen) == 1000
    per_source = {s: sum(1 for x in chosen if x.source == s) for s in pools}
    assert per_source == {"wordnet": 174, "unigram": 503, "bigram": 201, "title": 122}
    best_titles = sorted((x for x in chosen if x.source == "title"), key=lambda x: -x.score)
    assert best_titles[0].score == 1999  # the best-ranked are taken


def test_target_size_redistributes_shortfall_and_overlap():
    pools = {
        "wordnet": [c(f"w{k}", "wordnet") for k in range(10)],  # far fewer than its share
        "unigram": [c(f"u{k}", "unigram", score=k) for k in range(3000)],
        # the first ten bigrams rank best but WordNet already has them
        "bigram": [c(f"w{k}", "bigram", score=10_000) for k in range(10)]
        + [c(f"b{k}", "bigram", score=k) for k in range(3000)],
        "title": [c(f"t{k}", "title", score=k) for k in range(3000)],
    }
    forced = [Candidate(n, "unigram", 0.0, 0) for n in ALWAYS_IN]
    chosen, overlap = select_target_size(pools, 1000, forced)
    queries = [x.query for x in chosen]
    assert len(queries) == 1000 == len(set(queries))
    assert set(ALWAYS_IN) <= set(queries)
    assert overlap["bigram"] == 10


def test_target_size_larger_than_everything_takes_everything():
    chosen, _ = select_target_size({"unigram": [c("a", "unigram"), c("b", "unigram")]}, 50)
    assert [x.query for x in chosen] == ["a", "b"]


def test_rank_is_deterministic_on_ties():
    tied = [c("b", "title", 5.0, 1), c("a", "title", 5.0, 1), c("z", "title", 5.0, 2)]
    assert [x.query for x in sorted(tied, key=Candidate.rank_key)] == ["z", "a", "b"]
    assert not math.isnan(pmi(1, 1, 1, 1))
