"""The token stream gives the same prose as mwparserfromhell's tree did (issue 26), on the
synthetic dumps, on every input of mwparserfromhell's own tokenizer tests, and on those inputs
nested inside each other's constructs, where the tree's pruning depths matter."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.queries.wikitext_tree import wikitext_to_prose_by_tree
from wit_builder.queries.wikitext import wikitext_to_prose

CASES = json.loads((Path(__file__).parent / "data" / "mwparserfromhell_cases.json").read_text(encoding="utf8"))
INPUTS = [case["input"] for case in CASES["cases"]]
# Each wraps a text in a construct whose inside the tree treated its own way: pruned (link
# text, tag contents, headings, bracketed link titles), not pruned (argument defaults),
# dropped (templates' parameters, refs, file links) or never shown (attributes).
WRAPPERS = [
    "[[A|{}]]",
    "[[{}]]",
    "'''{}'''",
    "''{}''",
    "{{{1|{}}}}",
    "{{t|x={}}}",
    "[http://example.org {}]",
    "<span class=a>{}</span>",
    "== {} ==",
    "<ref>{}</ref>",
    "<poem>{}</poem>",
    "[[File:a.jpg|thumb|{}]]",
    '<div title="{}">x</div>',
    "* {}\n",
    "; {}\n: x\n",
    "{| class=wikitable\n| {}\n|}",
    "<!-- {} -->",
]


def _same(text: str) -> None:
    try:
        expected = wikitext_to_prose_by_tree(text)
    except Exception:  # the tree failing must fail the stream too (the page is counted)
        with pytest.raises(Exception):  # noqa: B017
            wikitext_to_prose(text)
        return
    assert wikitext_to_prose(text) == expected, text


def test_the_corpus_is_mwparserfromhells_own():
    assert len(INPUTS) == 573
    assert {case["file"] for case in CASES["cases"]} >= {"tags.mwtest", "templates.mwtest", "wikilinks.mwtest"}


@pytest.mark.parametrize("file", sorted({case["file"] for case in CASES["cases"]}))
def test_every_tokenizer_case_gives_the_trees_prose(file):
    for case in CASES["cases"]:
        if case["file"] == file:
            _same(case["input"])


def test_cases_nested_in_each_others_constructs():
    rng = random.Random(26)
    for _ in range(1500):
        text = rng.choice(INPUTS)
        for _ in range(rng.randint(1, 3)):
            text = rng.choice(WRAPPERS).replace("{}", text)
        _same(text)


def test_cases_run_together_as_one_page():
    rng = random.Random(27)
    for _ in range(300):
        _same("\n".join(rng.sample(INPUTS, 6)) + " prose " + "".join(rng.sample(INPUTS, 4)))


def test_synthetic_dump_pages_give_the_trees_prose(small_world):
    pages = [page for page in small_world.wiki_pages if page.namespace == 0 and not page.redirect_to]
    assert len(pages) > 100
    for page in pages:
        assert wikitext_to_prose(page.text) == wikitext_to_prose_by_tree(page.text), page.title


@pytest.mark.parametrize(
    ("wikitext", "prose"),
    [
        ("a [[B|c]] d", "a c d"),
        ("a [[B|c|d]] e", "a c|d e"),  # a second bar is text
        ("[[File:x.jpg|thumb|cap]] y", " y"),
        ("{{{1|shown [[File:x.jpg|cap]]}}}", "shown cap"),  # defaults were never pruned
        ("[http://x.org/ title] [http://y.org/] http://z.org/", "title  http://z.org/"),
        ("<span>a</span><ref>b</ref><math>c</math>", "a"),
        ("&amp; &#931; &#x3a3; &Sigma;", "& Σ Σ Σ"),
        ("== Head ==\n\n\n\nbody", " Head \n\nbody"),  # three newlines or more become two
        ("<div title='{{t|x}}'>in</div>", "in"),
        ("__NOTOC__word", " word"),
    ],
)
def test_constructs(wikitext, prose):
    assert wikitext_to_prose(wikitext) == prose
    assert wikitext_to_prose_by_tree(wikitext) == prose


@pytest.mark.parametrize(
    "wikitext",
    [
        "<span>" * 2000 + "x" + "</span>" * 2000,
        "[[a|" * 2000 + "x" + "]]" * 2000,
        "{{a|" * 2000 + "x" + "}}" * 2000,
        "{{{a|" * 2000 + "x" + "}}}" * 2000,
        "{|\n|" * 1000 + "x" + "\n|}" * 1000,
        "<ref>" * 500 + "{{" * 500 + "[[" * 500,
    ],
    ids=["spans", "links", "templates", "arguments", "tables", "unclosed"],
)
def test_hostile_nesting_neither_crashes_nor_differs(wikitext):
    """The tokenizer caps its depth and falls back to text, so the stream never recurses deeper
    than the tree: thousands of nested constructs give the tree's prose, not a RecursionError."""
    _same(wikitext)
