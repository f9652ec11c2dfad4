"""The tokenisation rule the queries stage counts with and harvest matches with."""

from __future__ import annotations

import pytest

from wit_builder.text.tokens import is_query_like, joined_tokens, normalise, on_word_boundaries, phrases, tokenize


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Don't stop", ["Don't", "stop"]),
        ("a rock-face wall", ["a", "rock-face", "wall"]),
        ("o'malley’s car", ["o'malley’s", "car"]),
        ("'quoted' -dashed-", ["quoted", "dashed"]),
        ("3.5 kg in 1987", ["3", "5", "kg", "in", "1987"]),
        ("under_score", ["under", "score"]),
        ("Zürich, café; naïve", ["Zürich", "café", "naïve"]),
        ("東京 タワー", ["東京", "タワー"]),
        ("-- ... !!", []),
    ],
)
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_nfc_makes_combining_accents_one_letter():
    decomposed = "cafe\u0301"
    assert tokenize(decomposed) == ["cafe"]  # the accent alone is not a letter
    assert tokenize(normalise(decomposed)) == ["café"]


def test_case_is_kept():
    assert tokenize("Paris paris") == ["Paris", "paris"]


def test_phrases_break_at_punctuation_and_lines():
    text = "The red circle, and a blue  square.\nNext (line) here - there"
    assert list(phrases(text)) == [
        ["The", "red", "circle"],
        ["and", "a", "blue", "square"],
        ["Next"],
        ["line"],
        ["here"],
        ["there"],
    ]


@pytest.mark.parametrize(
    ("text", "start", "end", "expected"),
    [
        ("the rock-face is red", 4, 8, False),  # "rock" inside "rock-face"
        ("the rock-face is red", 4, 13, True),
        ("the rock - face", 4, 8, True),  # a spaced dash is not a joiner
        ("don't", 0, 3, False),  # "don" inside "don't"
        ("redcircle", 0, 3, False),
        ("red, circle", 0, 3, True),
        ("(red)", 1, 4, True),
        ("under_score", 0, 5, True),  # the underscore separates tokens
        ("café", 0, 3, False),
    ],
)
def test_word_boundaries(text, start, end, expected):
    assert on_word_boundaries(text, start, end) is expected


def test_query_like_and_joined_tokens():
    assert not is_query_like("!!") and not is_query_like("—") and is_query_like("C++")
    assert joined_tokens("hot dog") == ("hot", "dog")
    assert joined_tokens("C++") is None and joined_tokens("AC/DC") is None and joined_tokens("a  b") is None
