"""The tree path the stream in ``wit_builder.queries.wikitext`` replaced, kept as its oracle.

mwparserfromhell builds the node tree, the non-prose tags and links are dropped at every depth
the tree's ``contents``, ``text`` and ``title`` reach, and ``strip_code`` renders the rest.
This is what the queries stage ran until issue 26; the stream must give the same string.
"""

from __future__ import annotations

import mwparserfromhell
from mwparserfromhell.nodes import Node, Tag, Wikilink
from mwparserfromhell.wikicode import Wikicode

from wit_builder.queries.wikitext import BEHAVIOUR_SWITCH, NON_PROSE_LINK, NON_PROSE_TAGS


def _is_non_prose(node: Node) -> bool:
    if isinstance(node, Tag):
        return str(node.tag).strip().lower() in NON_PROSE_TAGS
    return isinstance(node, Wikilink) and bool(NON_PROSE_LINK.match(str(node.title)))


def _prune(code: Wikicode) -> None:
    kept = []
    for node in code.nodes:
        if _is_non_prose(node):
            continue
        for child in (getattr(node, name, None) for name in ("contents", "text", "title")):
            if isinstance(child, Wikicode):
                _prune(child)
        kept.append(node)
    code.nodes = kept


def wikitext_to_prose_by_tree(wikitext: str) -> str:
    code = mwparserfromhell.parse(BEHAVIOUR_SWITCH.sub(" ", wikitext))
    _prune(code)
    return code.strip_code(normalize=True, collapse=True, keep_template_params=False)
