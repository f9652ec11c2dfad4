"""Lines of text files read with a bound, so one endless line cannot take a worker's memory.

A hostile or broken file can hold hundreds of megabytes without a newline (an unclosed element,
a binary blob named ``.tsv``). Iterating a file object reads such a "line" whole. The readers
of line-oriented inputs (dumps, pageviews, WordNet, pair lists) read through ``bounded_lines``
instead: a line longer than the limit is consumed in pieces of at most ``limit`` characters and
reported once, as ``LongLine`` with its length, in its place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

LINE_LIMIT = 1 << 20  # characters: far above any real caption, pageview or WordNet line


@dataclass(frozen=True)
class LongLine:
    """A line longer than the reader's limit, skipped whole."""

    length: int


def bounded_lines(handle: TextIO, limit: int = LINE_LIMIT) -> Iterator[str | LongLine]:
    """Each line of ``handle`` (with its newline), or ``LongLine`` for one over ``limit``
    characters; memory holds at most ``limit`` characters of a line."""
    while True:
        line = handle.readline(limit)
        if not line:
            return
        if len(line) < limit or line.endswith("\n"):
            yield line
            continue
        length = len(line)
        while True:
            piece = handle.readline(limit)
            length += len(piece)
            if not piece or piece.endswith("\n"):
                break
        yield LongLine(length)
