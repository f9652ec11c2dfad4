"""Markup does not produce tokens; prose and link text do."""

from __future__ import annotations

from wit_builder.queries.wikitext import wikitext_to_prose
from wit_builder.text.tokens import tokenize

WIKITEXT = """{{Infobox thing|name=Zed|caption=tplword}}
'''Zed''' is a [[Red circle|round thing]] near [[Paris]].<ref>{{cite web|title=refword}}</ref><ref name="x" />
It is '''bold [[File:X.jpg|thumb|boldcapword]]''' here.
== History of zed ==
{| class="wikitable"
|-
! tableword !! tableword
|-
| cellword || cellword
|}
[[File:Y.jpg|thumb|filecaption [[Inner link]]]] [[Image:Z.png|left|imagecaption]]
<!-- commentword --> <math>mathword^2</math> <gallery>
A.jpg|galleryword
</gallery>
[[Ego: The Story]] and [[fr:Titre]] and [[:Category:Visible]].
__NOTOC__
[[Category:Catword]]"""


def tokens() -> set[str]:
    return set(tokenize(wikitext_to_prose(WIKITEXT)))


def test_prose_and_link_text_are_kept():
    assert {"Zed", "is", "round", "thing", "Paris", "bold", "here", "History", "zed", "Ego", "Story"} <= tokens()
    assert {"Category", "Visible"} <= tokens()  # [[:Category:X]] is a visible link


def test_markup_produces_no_tokens():
    leaked = tokens() & {
        "tplword",
        "refword",
        "tableword",
        "cellword",
        "boldcapword",
        "filecaption",
        "Inner",
        "imagecaption",
        "commentword",
        "mathword",
        "galleryword",
        "Titre",
        "Catword",
        "NOTOC",
        "cite",
        "web",
        "Infobox",
        "thumb",
        "wikitable",
        "Red",
        "circle",
    }
    assert not leaked


def test_synthetic_markup_words_never_leak(small_world):
    markup = set(small_world.vocabulary.markup_words)
    for page in small_world.wiki_pages[:120]:
        if page.namespace == 0 and not page.redirect_to:
            assert not markup & set(tokenize(wikitext_to_prose(page.text))), page.title
