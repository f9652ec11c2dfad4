"""The tokenisation rule the queries stage counts with and harvest matches with."""

from __future__ import annotations

import itertools
import random
import unicodedata

import pytest

from wit_builder.text.tokens import (
    MARK_BITMAP,
    MARK_RANGES,
    is_query_like,
    joined_tokens,
    normalise,
    on_word_boundaries,
    phrase_units,
    phrases,
    tokenize,
    unit_spans,
)


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
    assert tokenize(decomposed) == ["cafe\u0301"]  # the mark goes with the letter it follows
    assert tokenize(normalise(decomposed)) == ["café"]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("हिन्दी भाषा", ["हिन्दी", "भाषा"]),  # Devanagari: vowel signs (Mc) and virama (Mn)
        ("বাংলা ভাষা", ["বাংলা", "ভাষা"]),
        ("தமிழ் மொழி", ["தமிழ்", "மொழி"]),
        ("แมว อยู่", ["แมว", "อยู่"]),  # Thai vowel and tone marks
        ("مُحَمَّد رَسُول", ["مُحَمَّد", "رَسُول"]),  # vocalised Arabic
        ("שָׁלוֹם עוֹלָם", ["שָׁלוֹם", "עוֹלָם"]),  # Hebrew points
        ("x\u0301'y", ["x\u0301'y"]),  # a joiner after a mark still joins
    ],
)
def test_combining_marks_stay_in_their_word(text, tokens):
    assert tokenize(text) == tokens
    assert list(phrases(text)) == [tokens]


def test_a_mark_with_no_letter_before_it_is_a_unit_of_its_own():
    text = "a \u0301x"
    assert tokenize(text) == ["a", "x"]
    assert [text[a:b] for a, b in unit_spans(text)] == ["a", "\u0301", "x"]
    assert on_word_boundaries(text, 3, 4) and not on_word_boundaries("ab\u0301c", 0, 2)


def test_the_mark_table_holds_every_mark_of_this_pythons_unicode():
    every = [code for code in range(0x110000) if unicodedata.category(chr(code))[0] == "M"]
    listed = [code for first, last in MARK_RANGES for code in range(first, last + 1)]
    assert listed == every
    assert all(MARK_BITMAP[code >> 3] >> (code & 7) & 1 for code in every)
    assert sum(bin(byte).count("1") for byte in MARK_BITMAP) == len(every)


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


def _runs(units: list[str]) -> list[list[str]]:
    return [list(run) for nonempty, run in itertools.groupby(units, bool) if nonempty]


def test_phrase_units_are_the_phrases_flattened():
    text = "The red circle, and a blue  square.\nNext (line) here - there"
    assert phrase_units(text) == [
        "The",
        "red",
        "circle",
        "",
        "and",
        "a",
        "blue",
        "square",
        "",
        "",
        "Next",
        "",
        "line",
        "",
        "here",
        "",
        "there",
    ]


def test_phrase_units_agree_with_phrases_on_random_text():
    """Every script rule the phrases follow (joiners, marks, lines, odd whitespace), drawn at
    random: the runs of ``phrase_units`` are ``phrases``."""
    rng = random.Random(5)
    alphabet = [*"ab c-'’_.,\n\t\r\u00a0\u2028\x85é\u0301x09", "हि", "्", "न्दी", "北京", "a\u0301"]
    for _ in range(20_000):
        text = unicodedata.normalize("NFC", "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16))))
        assert _runs(phrase_units(text)) == list(phrases(text)), repr(text)


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
        ("हिन्दी", 0, 1, False),  # the consonant alone, inside its word
        ("हिन्दी", 0, 6, True),
        ("अ ि", 2, 3, True),  # a lone mark is a unit of its own
    ],
)
def test_word_boundaries(text, start, end, expected):
    assert on_word_boundaries(text, start, end) is expected


def test_query_like_and_joined_tokens():
    assert not is_query_like("!!") and not is_query_like("—") and is_query_like("C++")
    assert joined_tokens("hot dog") == ("hot", "dog")
    assert joined_tokens("C++") is None and joined_tokens("AC/DC") is None and joined_tokens("a  b") is None
