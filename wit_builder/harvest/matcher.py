"""Which queries a caption contains: substring matches on word boundaries, all of them.

The rule (``wit_builder.text.tokens``): query q matches text t when q occurs in t and neither end
of the occurrence falls inside a token. Cut at word boundaries, a text holds whole **units**
(tokens, and each other non-whitespace character on its own), so that is the same as: q's units
are consecutive units of t with the same characters between them. The caption is cut into units
once and every run of consecutive units is looked up in a table that holds each query and each
unit prefix of one (a ``PhraseTable``); the walk from a start unit stops at the first sequence no
query begins with. Overlapping matches are all found: "new york city" matches "new york", "york
city" and "new york city". Punctuated queries ("u.s", "AC/DC", "C++", "24/7", emoji) are in the
same table, so they cost nothing on a caption that does not hold their first units. Only a
query with whitespace at either end (which no query list stage writes) goes through a small
pyahocorasick automaton over the text, each hit checked for word boundaries.

The table is native (``_phrase_table.c``, built at install time) because in Python the
tokenisation alone costs more than MetaCLIP's whole automaton pass (``benchmarks/RESULTS.md``,
"harvest"). ``PythonPhraseTable`` below is the reference it is tested against, and the fallback
when the extension was not built (no C compiler); the fallback logs a warning.

Matching is case-sensitive by default, as CLIP's and MetaCLIP's is; ``case_sensitive=False``
lower-cases both sides, and a hit then reports every query of that lower-case form.

Scripts written without spaces (Chinese, Japanese, Thai, Khmer, Lao, Burmese, Tibetan) are cut
into words first (``wit_builder.text.segment``): each query is keyed by its spaced form and each
caption is spaced before the lookup, so a query matches exactly when its words are adjacent
words of the caption. Only a list holding such a query pays for it: without one, spacing a
caption could not change what is found (a space is only ever written between two letters of
those scripts), and captions are looked up as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import ahocorasick

from wit_builder.text.segment import Segmenter, needs_segmenting
from wit_builder.text.tokens import on_word_boundaries, unit_spans

log = logging.getLogger(__name__)


class PythonPhraseTable:
    """Keys (no whitespace at either end) to values; ``find`` reports the keys in a text.

    The reference for the native ``PhraseTable``: same constructor, same ``find``, same order
    (first occurrence), each value once.
    """

    def __init__(self, keys: Sequence[str], values: Sequence[Any]):
        if len(keys) != len(values):
            raise ValueError("keys and values differ in length")
        self._values: dict[str, Any] = {}
        self._order: dict[str, int] = {}
        self._prefixes: set[str] = set()
        for key, value in zip(keys, values, strict=True):
            if not is_unit_sequence(key):
                raise ValueError(f"key {key!r} is empty or begins or ends with whitespace")
            if key in self._values:
                raise ValueError(f"key {key!r} is given twice")
            self._values[key] = value
            self._order[key] = len(self._order)
            self._prefixes.update(key[:end] for _, end in unit_spans(key))

    def __len__(self) -> int:
        return len(self._values)

    def find(self, text: str) -> list[Any]:
        return [self._values[key] for key in self._found_keys(text)]

    def find_in_order(self, text: str) -> list[Any]:
        """What ``find`` reports, in the order the values were given."""
        return [self._values[key] for key in sorted(self._found_keys(text), key=self._order.__getitem__)]

    def _found_keys(self, text: str) -> list[str]:
        found: dict[str, None] = {}
        spans = unit_spans(text)
        for first, (start, _) in enumerate(spans):
            for _, end in spans[first:]:
                key = text[start:end]
                if key not in self._prefixes:
                    break
                if key in self._values:
                    found.setdefault(key)
        return list(found)


def is_unit_sequence(key: str) -> bool:
    """Whether a key can be looked up unit by unit: not empty, no whitespace at either end."""
    return bool(key) and key == key.strip() and not key.isspace()


try:
    from wit_builder.harvest._phrase_table import PhraseTable
except ImportError:  # built without a C compiler: same answers, slower
    PhraseTable = None  # type: ignore[assignment,misc]


def phrase_table(keys: Sequence[str], values: Sequence[Any]) -> PythonPhraseTable:
    """The native table when it was built, else the Python reference (with a warning)."""
    if PhraseTable is None:
        log.warning("wit_builder.harvest._phrase_table is not built; matching with the slower Python table")
        return PythonPhraseTable(keys, values)
    return PhraseTable(keys, values)


class QueryMatcher:
    """All queries found in a caption. Build once (``DoFn.setup``: it holds a segmenter, which
    is not for sharing between threads), call per caption."""

    def __init__(self, queries: Iterable[str], case_sensitive: bool = True, native: bool = True):
        self.case_sensitive = case_sensitive
        queries = sorted(set(queries))  # in order: see the table's values below
        self._segmenter = Segmenter() if any(needs_segmenting(query) for query in queries) else None
        regular: dict[str, list[str]] = {}
        irregular: dict[str, list[str]] = {}
        for query in queries:
            key = self._key(query)
            if is_unit_sequence(key):
                regular.setdefault(key, []).append(query)
            elif key.strip():
                irregular.setdefault(key, []).append(query)
        self.size = sum(map(len, regular.values())) + sum(map(len, irregular.values()))
        # A key with one query (the common case) stores the query itself; the keys went in in
        # their queries' order, so the table hands its hits over sorted. The rest, a tuple.
        self._single = all(len(originals) == 1 for originals in regular.values())
        values = [originals[0] if self._single else tuple(originals) for originals in regular.values()]
        build = phrase_table if native else PythonPhraseTable
        self._regular = build(list(regular), values)
        self._irregular = _automaton(irregular)

    def _key(self, text: str) -> str:
        """``text`` as it is looked up: spaced into words where its script needs it, and
        lower-cased when matching ignores case."""
        if self._segmenter is not None:
            text = self._segmenter.spaced(text)
        return text if self.case_sensitive else text.lower()

    def __call__(self, text: str) -> list[str]:
        """The distinct queries ``text`` (normalised) contains, sorted."""
        haystack = self._key(text)
        if self._single and self._irregular is None:  # the common case: hits are distinct queries
            return self._regular.find_in_order(haystack)
        hits = self._regular.find(haystack)
        found: set[str] = set(hits) if self._single else {q for originals in hits for q in originals}
        if self._irregular is not None:
            for end, (key, originals) in self._irregular.iter(haystack):
                if on_word_boundaries(haystack, end + 1 - len(key), end + 1):
                    found.update(originals)
        return sorted(found)


def _automaton(keys: dict[str, list[str]]) -> ahocorasick.Automaton | None:
    """An automaton over the queries with whitespace at an end; values carry the key, to find a
    hit's start."""
    if not keys:
        return None
    automaton = ahocorasick.Automaton()
    for key, originals in keys.items():
        automaton.add_word(key, (key, originals))
    automaton.make_automaton()
    return automaton
