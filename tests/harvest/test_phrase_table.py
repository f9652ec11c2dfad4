"""The native PhraseTable against its pure-Python reference, on random Unicode text.

The native table re-implements the project's token rule in C, so the tests generate text from an
alphabet built to hit every branch of that rule: letters of several scripts, digits of other
numeral systems, combining marks of several kinds (Mn, Mc, Me: part of a token after a letter,
a unit of their own after anything else), joiners in every position, the underscore,
ASCII and Unicode whitespace, punctuation and symbols.
"""

from __future__ import annotations

import random

import pytest

from wit_builder.harvest.matcher import PhraseTable, PythonPhraseTable
from wit_builder.text.tokens import on_word_boundaries, tokenize, unit_spans

pytestmark = pytest.mark.skipif(PhraseTable is None, reason="the native extension is not built")

# Latin, Cyrillic, CJK, Arabic, a titlecase letter, an astral letter (keys and texts of every str width)
LETTERS = "abcAB" + "éüß" + "жЯ" + "漢字" + "ا" + "ǅ" + "𝒜"
DIGITS = "019" + "٣" + "²" + "Ⅻ"  # Arabic-Indic digit, superscript two, Roman numeral (all isalnum)
MARKS = "\u0301" + "\u094d\u093f" + "\u0e39" + "\u20dd"  # acute, virama, i-sign (Mc), Thai u, enclosing circle
NOT_TOKEN = "'’-" + "_" + MARKS + ".,;:!?&/+()" + "€😀"  # joiners, underscore, marks, punctuation, emoji
SPACES = " " * 6 + "\t\n\u00a0\u2003\u3000"
ALPHABET = LETTERS + DIGITS + NOT_TOKEN + SPACES


def random_text(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(length))


def random_keys(rng: random.Random, n: int) -> list[str]:
    """Keys cut from short random texts at unit boundaries (so they do occur): token sequences
    joined by single spaces ("red circle") and runs of units with whatever stood between them
    ("u.s", "C++", "a\u00a0b")."""
    keys: dict[str, None] = {}
    while len(keys) < n:
        text = random_text(rng, rng.randint(1, 12))
        if rng.random() < 0.5:
            tokens = tokenize(text)
            if tokens:
                keys[" ".join(tokens[: rng.randint(1, 3)])] = None
        elif spans := unit_spans(text):
            first = rng.randrange(len(spans))
            last = min(len(spans) - 1, first + rng.randint(0, 3))
            keys[text[spans[first][0] : spans[last][1]]] = None
    return list(keys)


@pytest.mark.parametrize("seed", range(20))
def test_native_tokens_follow_the_token_rule(seed):
    from wit_builder.harvest._phrase_table import tokens

    rng = random.Random(seed)
    for _ in range(200):
        text = random_text(rng, rng.randint(0, 60))
        assert tokens(text) == tokenize(text), repr(text)


@pytest.mark.parametrize("seed", range(20))
def test_native_table_finds_what_the_reference_finds(seed):
    rng = random.Random(seed)
    keys = random_keys(rng, 300)
    values = [f"v{i}" for i in range(len(keys))]
    native, reference = PhraseTable(keys, values), PythonPhraseTable(keys, values)
    assert len(native) == len(reference) == len(keys)
    for _ in range(200):
        text = random_text(rng, rng.randint(0, 400))  # long enough to grow the token buffer
        assert native.find(text) == reference.find(text), repr(text)
        assert native.find_in_order(text) == reference.find_in_order(text), repr(text)
        assert native.find_in_order(text) == sorted(native.find(text), key=lambda v: int(v[1:]))


@pytest.mark.parametrize("seed", range(10))
def test_native_units_follow_the_unit_rule(seed):
    from wit_builder.harvest._phrase_table import units

    rng = random.Random(seed)
    for _ in range(200):
        text = random_text(rng, rng.randint(0, 60))
        assert units(text) == [text[start:end] for start, end in unit_spans(text)], repr(text)


@pytest.mark.parametrize("seed", range(10))
def test_the_table_finds_exactly_the_keys_that_occur_on_word_boundaries(seed):
    """The unit walk against the rule itself, by brute force over every occurrence."""
    rng = random.Random(1000 + seed)
    keys = random_keys(rng, 200)
    table = PhraseTable(keys, keys)
    for _ in range(100):
        text = random_text(rng, rng.randint(0, 200))
        expected = {key for key in keys if occurs_on_word_boundaries(key, text)}
        assert set(table.find(text)) == expected, repr(text)


def occurs_on_word_boundaries(key: str, text: str) -> bool:
    start = text.find(key)
    while start >= 0:
        if on_word_boundaries(text, start, start + len(key)):
            return True
        start = text.find(key, start + 1)
    return False


def test_punctuated_keys_are_found_through_their_units():
    keys = ["u.s", "C++", "AC/DC", "24/7", "c.o.d.", "achilles' heel", "❤️", "red  circle"]
    table = PhraseTable(keys, keys)
    assert table.find("the u.s. army, open 24/7") == ["u.s", "24/7"]
    assert table.find("C++11 and AC/DC ❤️ on c.o.d. terms") == ["C++", "AC/DC", "❤️", "c.o.d."]
    assert table.find("an achilles' heel; a red  circle; a red circle") == ["achilles' heel", "red  circle"]
    assert table.find("the u.s.a and u. s and us and 24/72") == ["u.s"]
    assert table.entries == 25  # every key's unit prefixes: u u. u.s C C+ C++ A AC/ ... red red␣␣circle


def test_a_table_of_many_megabytes_finds_the_same():
    """60,000 keys: a table past 2 MB, the size from which its memory asks for huge pages."""
    keys = [f"w{i}" for i in range(30_000)] + [f"w{i} w{i + 1}" for i in range(0, 60_000, 2)]
    table = PhraseTable(keys, list(range(len(keys))))
    assert table.entries == 75_000  # the keys, and the first words of the 15,000 pairs past w29999
    found = table.find_in_order("w7 w8 w29999 w30000 w4 w5")
    assert [keys[i] for i in found] == ["w4", "w5", "w7", "w8", "w29999", "w4 w5"]


def test_found_values_are_the_objects_given_in_first_occurrence_order():
    payload = ("Paris", "paris")
    table = PhraseTable(["york", "new york", "paris"], [1, 2, payload])
    found = table.find("paris, new york and york again, paris")
    assert found == [payload, 2, 1]
    assert found[0] is payload
    assert table.entries == 4  # york, new, new york, paris


def test_each_value_is_reported_once_per_text_and_again_for_the_next_text():
    table = PhraseTable(["a"], ["A"])
    assert table.find("a a a") == ["A"]
    assert table.find("a") == ["A"]
    assert table.find("b") == []


@pytest.mark.parametrize("table_type", [PhraseTable, PythonPhraseTable])
@pytest.mark.parametrize(
    ("keys", "values", "error", "message"),
    [
        ([" red"], [1], ValueError, "empty or begins or ends with whitespace"),
        (["red\n"], [1], ValueError, "empty or begins or ends with whitespace"),
        ([""], [1], ValueError, "empty or begins or ends with whitespace"),
        (["\u3000"], [1], ValueError, "empty or begins or ends with whitespace"),
        (["red", "red"], [1, 2], ValueError, "given twice"),
        (["red"], [1, 2], ValueError, "differ in length"),
    ],
)
def test_bad_keys_are_refused_with_a_reason(table_type, keys, values, error, message):
    with pytest.raises(error, match=message):
        table_type(keys, values)


def test_native_table_refuses_non_strings():
    with pytest.raises(TypeError, match="not a str"):
        PhraseTable([b"red"], [1])
    with pytest.raises(TypeError, match="must be a str"):
        PhraseTable(["red"], [1]).find(b"red")


def test_an_empty_table_finds_nothing():
    assert PhraseTable([], []).find("anything at all") == []
