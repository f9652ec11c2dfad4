"""The matching rule: substrings on word boundaries, case-sensitive, every match recorded."""

from __future__ import annotations

import pytest

from wit_builder.harvest.matcher import QueryMatcher
from wit_builder.text.tokens import normalise

QUERIES = ["red", "circle", "red circle", "rock", "rock-face", "don", "new york", "york city", "new york city",
           "café", "Zürich", "C++", "AC/DC", "Tom & Jerry", "Paris", "a", "3", "1987"]  # fmt: skip


@pytest.fixture(scope="module")
def match():
    return QueryMatcher(QUERIES)


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("a red circle", ["a", "circle", "red", "red circle"]),
        ("red, circle", ["circle", "red"]),  # punctuation between tokens breaks the phrase
        ("the rock-face at dawn", ["rock-face"]),  # "rock" is inside the token "rock-face"
        ("don't", []),  # "don" is inside "don't"
        ("redcircle", []),
        ("new york city at night", ["new york", "new york city", "york city"]),  # overlaps all kept
        ("Café in Zürich", ["Zürich"]),  # case-sensitive: "Café" is not "café"
        ("a café", ["a", "café"]),
        ("I code C++ and listen to AC/DC", ["AC/DC", "C++"]),
        ("C++11 rocks", ["C++"]),  # "+" is no letter or digit, so "C++" ends on a word boundary
        ("Tom & Jerry show", ["Tom & Jerry"]),
        ("in 1987 3.5 kg", ["1987", "3"]),
        ("PARIS paris Paris", ["Paris"]),
        ("", []),
    ],
)
def test_rule(match, caption, expected):
    assert match(normalise(caption)) == expected


def test_case_insensitive_reports_every_original():
    match = QueryMatcher(["Paris", "paris", "New York"], case_sensitive=False)
    assert match("PARIS and new york") == ["New York", "Paris", "paris"]


def test_decomposed_accents_match_after_normalisation():
    assert QueryMatcher(["café"])(normalise("cafe\u0301 au lait")) == ["café"]


def test_empty_query_list():
    assert QueryMatcher([])("anything") == []
