"""Lines of text files read with a bound, so one endless line cannot take a worker's memory.

A hostile or broken file can hold hundreds of megabytes without a newline (an unclosed element,
a binary blob named ``.tsv``). Iterating a file object reads such a "line" whole. The readers
of line-oriented inputs (dumps, pageviews, WordNet, pair lists) read through ``bounded_lines``
instead: a line longer than the limit is consumed in pieces of at most ``limit`` characters and
reported once, as ``LongLine`` with its length, in its place.

``file_lines`` opens a file by its URL and suffix. A ``.bz2`` is decompressed a megabyte of
input at a time (``bz2_lines``), not in the 8 KB pieces a text reader asks for: between those
small calls the caller's work (the queries stage's counting) evicted bz2's inverse-BWT table
(3.6 MB, read at random) from the cache, and that stage spent 5.3-6.3 s decompressing 62 MB of
dump that take 1.8 s in large pieces.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

import fsspec

from wit_builder.io.compressed import Damaged, MemberEnd, resynced

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


def file_lines(path: str, limit: int = LINE_LIMIT) -> Iterator[str | LongLine]:
    """Each line of the text file at ``path`` (any fsspec URL), decompressed by its suffix, as
    ``bounded_lines`` gives them; undecodable bytes replaced. A file cut short or not in the
    compression its name says raises (``EOFError``, ``OSError``) after the lines before the fault."""
    if path.endswith(".bz2"):
        yield from bz2_lines(read_range(path), limit)
        return
    with fsspec.open(path, "rt", compression="infer", encoding="utf-8", errors="replace") as handle:
        yield from bounded_lines(handle, limit)


def read_range(path: str, start: int = 0, end: int | None = None, block: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of ``path`` from ``start`` to ``end`` (the end of the file: None), in blocks."""
    with fsspec.open(path, "rb") as handle:
        handle.seek(start)
        remaining = None if end is None else end - start
        while remaining is None or remaining > 0:
            data = handle.read(block if remaining is None else min(block, remaining))
            if not data:
                return
            if remaining is not None:
                remaining -= len(data)
            yield data


def bz2_lines(
    data: Iterable[bytes], limit: int = LINE_LIMIT, piece: int = 4 << 20, start: int = 0
) -> Iterator[str | LongLine | Damaged]:
    """The text lines of one or more concatenated bz2 streams, decompressed as ``data`` gives
    them, at most ``piece`` bytes a call (a hostile stream of a few KB can expand to gigabytes);
    a line of more than ``limit`` bytes with its newline is ``LongLine`` and not kept. A stream
    that is damaged (a multistream dump's hundred pages) is ``Damaged`` in the lines' place,
    the line it cut is dropped, and reading goes on at the next stream (``io.compressed``).
    Data that ends inside a stream (a file cut short) raises ``EOFError`` after the lines before
    the cut. ``start``: the data's offset in its file, for the offsets ``Damaged`` names."""
    pending = b""
    skipped = 0  # bytes of an over-long line dropped so far
    whole, damage = 0, None  # streams read whole; the first damage
    for item in resynced(data, "bz2", piece, start):
        if isinstance(item, MemberEnd):
            whole += 1
            continue
        if isinstance(item, Damaged):
            if item.cut_short:  # the lines before the cut are out; the one it broke is not
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            pending, skipped, damage = b"", 0, damage or item
            yield item
            continue
        pending += item
        *complete, pending = pending.split(b"\n")
        for line in complete:
            if skipped or len(line) >= limit:
                yield LongLine(skipped + len(line) + 1)
                skipped = 0
            else:
                yield line.decode("utf-8", errors="replace") + "\n"
        if len(pending) >= limit:
            skipped += len(pending)
            pending = b""
    if damage is not None and not whole:  # not one stream could be read: not bz2 at all
        raise OSError(f"not a bz2 file, or damaged throughout ({damage.error})")
    if skipped or len(pending) >= limit:
        yield LongLine(skipped + len(pending))
    elif pending:
        yield pending.decode("utf-8", errors="replace")
