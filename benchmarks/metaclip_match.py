"""MetaCLIP's way of matching queries in captions: the peer harvest's matcher is measured and
compared against (``benchmarks/bench_match.py``, docs/stages/harvest.md's table of where the rules differ).

As MetaCLIP's curation does it (``substr_matching.py``): every query wrapped in single spaces in
one pyahocorasick automaton; each caption padded with a space at each end, spaces put around
``, . ; : ? !`` and `````, tabs, newlines and carriage returns turned into spaces; one pass
collects the distinct matched query ids.
"""

from __future__ import annotations

from collections.abc import Sequence

import ahocorasick

SPACED_MARKS = ",.;:?!`"


class MetaClipMatcher:
    """``matcher(caption)`` is the set of indices (into ``queries``) of the queries found."""

    def __init__(self, queries: Sequence[str]):
        self.automaton = ahocorasick.Automaton()
        for index, query in enumerate(queries):
            self.automaton.add_word(f" {query} ", index)
        self.automaton.make_automaton()

    def __call__(self, caption: str) -> set[int]:
        text = f" {caption} "
        for mark in SPACED_MARKS:
            text = text.replace(mark, f" {mark} ")
        text = text.replace("\t", " ").replace("\n", " ").replace("\r", " ")
        return {index for _, index in self.automaton.iter(text)} if len(self.automaton) else set()
