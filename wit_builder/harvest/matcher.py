"""Which queries a caption contains: substring matches on word boundaries, all of them.

The rule (``wit_builder.text.tokens``): query q matches text t when q occurs in t and neither end
of the occurrence falls inside a token. On normalised text (whitespace collapsed, NFC) that is
the same as: the tokens of q occur in t as consecutive tokens separated by single spaces. So
the caption is written as its pieces (tokens, and every other non-space character on its own)
joined by spaces, each query made of tokens is wrapped in spaces, and one Aho-Corasick pass
(pyahocorasick, built once per worker) finds every occurrence, overlapping ones included: the
caption "new york city" matches "new york", "york city" and "new york city". The few queries
that are not plain tokens ("C++", "AC/DC") go through a second, small automaton over the text
itself, each hit checked for word boundaries.

Matching is case-sensitive by default, as CLIP's and MetaCLIP's is; ``case_sensitive=False``
lower-cases both sides, and a hit then reports every query of that lower-case form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import ahocorasick

from wit_builder.text.tokens import joined_tokens, on_word_boundaries

PIECE = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*|\S")


def canonical_pieces(text: str) -> str:
    """`` piece piece ... ``: tokens and single non-space characters, space-separated, padded."""
    return " " + " ".join(PIECE.findall(text)) + " "


class QueryMatcher:
    """All queries found in a caption. Build once (``DoFn.setup``), call per caption."""

    def __init__(self, queries: Iterable[str], case_sensitive: bool = True):
        self.case_sensitive = case_sensitive
        regular: dict[str, list[str]] = {}
        irregular: dict[str, list[str]] = {}
        for query in dict.fromkeys(queries):
            key = query if case_sensitive else query.lower()
            if joined_tokens(query) is not None:
                regular.setdefault(f" {key} ", []).append(query)
            elif key.strip():
                irregular.setdefault(key, []).append(query)
        self.size = sum(map(len, regular.values())) + sum(map(len, irregular.values()))
        if case_sensitive:
            regular_values = {key: originals[0] for key, originals in regular.items()}
        else:
            regular_values = {key: tuple(originals) for key, originals in regular.items()}
        self._regular = _automaton(regular_values, keep_key=False)
        self._irregular = _automaton(irregular, keep_key=True)

    def __call__(self, text: str) -> list[str]:
        """The distinct queries ``text`` (normalised) contains, sorted."""
        haystack = text if self.case_sensitive else text.lower()
        found: set[str] = set()
        if self._regular is not None:
            hits = {originals for _, originals in self._regular.iter(canonical_pieces(haystack))}
            if self.case_sensitive:  # one original per key, stored as the string itself
                found = hits
            else:
                for originals in hits:
                    found.update(originals)
        if self._irregular is not None:
            for end, (key, originals) in self._irregular.iter(haystack):
                if on_word_boundaries(haystack, end + 1 - len(key), end + 1):
                    found.update(originals)
        return sorted(found)


def _automaton(keys: dict, keep_key: bool) -> ahocorasick.Automaton | None:
    """An automaton whose values are the original queries (with the key, to find a hit's start)."""
    if not keys:
        return None
    automaton = ahocorasick.Automaton()
    for key, originals in keys.items():
        automaton.add_word(key, (key, originals) if keep_key else originals)
    automaton.make_automaton()
    return automaton
