"""The matching rule: substrings on word boundaries, case-sensitive, every match recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from metaclip_match import MetaClipMatcher

from wit_builder.harvest import matcher as matcher_module
from wit_builder.harvest.matcher import QueryMatcher
from wit_builder.text.tokens import normalise

QUERIES = ["red", "circle", "red circle", "rock", "rock-face", "don", "new york", "york city", "new york city",
           "café", "Zürich", "C++", "AC/DC", "Tom & Jerry", "Paris", "a", "3", "1987", "u.s", "e.g", "24/7",
           "achilles' heel", "❤️", " padded "]  # fmt: skip


@pytest.fixture(scope="module", params=["native", "python"])
def match(request):
    """Every rule holds for the native table and for its pure-Python reference."""
    return QueryMatcher(QUERIES, native=request.param == "native")


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
        ("the u.s. army, e.g. here", ["e.g", "u.s"]),  # ends on word boundaries: "." is no letter
        ("the u.s.a", ["a", "u.s"]),
        ("open 24/7 ❤️", ["24/7", "❤️"]),
        ("his achilles' heel", ["achilles' heel"]),
        ("a padded word", [" padded ", "a"]),  # whitespace at an end: the automaton's path
        ("padded", []),
        ("", []),
    ],
)
def test_rule(match, caption, expected):
    assert match(normalise(caption)) == expected


@pytest.mark.parametrize("native", [True, False])
def test_case_insensitive_reports_every_original(native):
    match = QueryMatcher(["Paris", "paris", "New York"], case_sensitive=False, native=native)
    assert match("PARIS and new york") == ["New York", "Paris", "paris"]


def test_decomposed_accents_match_after_normalisation():
    assert QueryMatcher(["café"])(normalise("cafe\u0301 au lait")) == ["café"]


def test_empty_query_list():
    assert QueryMatcher([])("anything") == []


def test_the_native_table_is_what_an_install_uses():
    """CI has a C compiler, so the extension must have been built; a silent fallback would
    make harvest about 3x slower without anyone noticing."""
    assert matcher_module.PhraseTable is not None
    assert type(QueryMatcher(["x"])._regular).__name__ == "PhraseTable"


def test_without_the_extension_the_matcher_falls_back_and_says_so(monkeypatch, caplog):
    monkeypatch.setattr(matcher_module, "PhraseTable", None)
    match = QueryMatcher(QUERIES)
    assert isinstance(match._regular, matcher_module.PythonPhraseTable)
    assert "not built" in caplog.text
    assert match("a red circle") == ["a", "circle", "red", "red circle"]


def readme_rule_differences() -> list[tuple[str, str, bool, bool]]:
    """The harvest page's table of where our rule and MetaCLIP's differ: (caption, query, ours, theirs)."""
    readme = (Path(__file__).parents[2] / "docs" / "stages" / "harvest.md").read_text(encoding="utf-8")
    table = readme[readme.index("| caption | query | ours | MetaCLIP's way | why |") :].split("\n\n")[0]
    rows = []
    for line in table.splitlines()[2:]:
        caption, query, ours, theirs = (cell.strip() for cell in line.strip("|").split("|")[:4])
        rows.append((caption.strip("`"), query.strip("`"), ours == "match", theirs == "match"))
    return rows


def test_the_readme_table_of_rule_differences_is_what_both_matchers_do():
    rows = readme_rule_differences()
    assert len(rows) >= 8
    for caption, query, ours, theirs in rows:
        assert bool(QueryMatcher([query])(normalise(caption))) is ours, (caption, query)
        assert bool(MetaClipMatcher([query])(caption)) is theirs, (caption, query)
