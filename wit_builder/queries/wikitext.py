"""Wikitext to plain prose, with mwparserfromhell.

What produces tokens: prose, headings, bold and italic text, and the visible text of internal
links (``[[Target|shown text]]`` gives "shown text", ``[[Target]]`` gives "Target").
What does not: templates and infoboxes (parameters included), ``<ref>`` and other invisible
tags (math, gallery, code, ...), tables, file/image/media links with their captions, category
links, interlanguage links (``[[fr:Titre]]``), comments and behaviour switches (``__NOTOC__``).
"""

from __future__ import annotations

import re

import mwparserfromhell
from mwparserfromhell.nodes import Node, Tag, Wikilink
from mwparserfromhell.wikicode import Wikicode

# Tags whose content is not prose. mwparserfromhell already hides ref and a few others in
# strip_code; the rest would leak code, formulas or gallery captions.
NON_PROSE_TAGS = frozenset(
    "ref references gallery math chem ce code pre source syntaxhighlight score timeline graph "
    "mapframe maplink templatestyles imagemap hiero inputbox poem table".split()
)
# Namespaces in any case; interlanguage prefixes ("fr:", "zh-yue:") in lower case only, so an
# article such as [[Ego: The Story]] keeps its link text.
NON_PROSE_LINK = re.compile(
    r"^\s*(?:(?i:file|image|media|category|wikt|wiktionary|commons)|[a-z]{2,3}(?:-[a-z]{2,8})?)\s*:"
)


# __NOTOC__, __NOEDITSECTION__, ...: mwparserfromhell leaves them as text.
BEHAVIOUR_SWITCH = re.compile(r"__[A-Z]+__")


def _is_non_prose_link(link: Wikilink) -> bool:
    """File, category and interlanguage links. A leading ':' ([[:Category:X]]) makes a visible
    link to such a page, which is kept."""
    return bool(NON_PROSE_LINK.match(str(link.title)))


def _is_non_prose(node: Node) -> bool:
    if isinstance(node, Tag):
        return str(node.tag).strip().lower() in NON_PROSE_TAGS
    return isinstance(node, Wikilink) and _is_non_prose_link(node)


def _prune(code: Wikicode) -> None:
    """Drop non-prose nodes at every depth in one pass. (``Wikicode.remove`` searches the
    whole tree for each node's parent, which made it the slowest step of the stage.)"""
    kept = []
    for node in code.nodes:
        if _is_non_prose(node):
            continue
        for child in (getattr(node, name, None) for name in ("contents", "text", "title")):
            if isinstance(child, Wikicode):
                _prune(child)
        kept.append(node)
    code.nodes = kept


def wikitext_to_prose(wikitext: str) -> str:
    """The readable prose of an article's wikitext, one paragraph or heading per line."""
    code = mwparserfromhell.parse(BEHAVIOUR_SWITCH.sub(" ", wikitext))
    _prune(code)
    return code.strip_code(normalize=True, collapse=True, keep_template_params=False)
