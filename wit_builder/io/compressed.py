"""Decompress a sequence of gzip members or bz2 streams, skipping a damaged one to the next.

Common Crawl writes a WAT file as one gzip member per record, and Wikimedia a multistream dump
as one bz2 stream per hundred pages. A byte flipped in one member (its data or only its CRC)
makes a plain reader stop there and lose every record after it: one damaged member of 230 cost
226. Both formats can be resynchronised, as WARC readers do: every member begins with a fixed
header (gzip: ``1f 8b 08``; bz2: ``BZh``, a level digit and the block magic ``1AY&SY``), so
after damage the reader scans forward for the next header and goes on from there.

``resynced`` gives the decompressed bytes as they come (never more than ``piece`` bytes at a
time, so a few kilobytes that expand to gigabytes stay bounded), ``MemberEnd`` after each
member that ended well, and ``Damaged`` where one did not: the bytes it gave before the fault
are to be thrown away by the reader (a WAT reader holds each member whole until its end; a dump
reader drops the page the damage cut). Data that ends inside a member is ``Damaged`` with
``cut_short``: the file was cut off, not damaged in the middle.
"""

from __future__ import annotations

import bz2
import io
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

HEADERS = {"gzip": re.compile(rb"\x1f\x8b\x08"), "bz2": re.compile(rb"BZh[1-9]1AY&SY")}
KEEP = 64 << 20  # raw bytes of one member held for a rescan; beyond it, the scan starts later


@dataclass(frozen=True, slots=True)
class MemberEnd:
    """A member (gzip) or stream (bz2) that began at byte ``offset`` ended, its check sum good."""

    offset: int


@dataclass(frozen=True)
class Damaged:
    """A member that could not be decompressed, from byte ``offset`` of the input; reading goes
    on at the next member's header (``cut_short``: the input ended inside it)."""

    offset: int
    error: str
    cut_short: bool = False
    too_large: bool = False  # ``whole_members``: it would have decompressed past the limit


class _Decoder:
    """One member's decompressor, with gzip's and bz2's interfaces made one."""

    __slots__ = ("gzip", "inner", "more", "started")

    def __init__(self, kind: str):
        self.gzip = kind == "gzip"
        self.inner = zlib.decompressobj(31) if self.gzip else bz2.BZ2Decompressor()
        self.started = False  # input was fed to it
        self.more = False  # output is waiting: the next call feeds nothing new

    def feed(self, data: memoryview, piece: int) -> tuple[bytes, int]:
        """(at most ``piece`` bytes of output, how many bytes of ``data`` it took: less than all
        when the output was capped or the member ended; below zero when bz2 gives back, at the
        member's end, input it took in an earlier call)."""
        self.started = self.started or len(data) > 0
        if self.gzip:
            out = self.inner.decompress(data, piece)
            rest = self.inner.unused_data if self.inner.eof else self.inner.unconsumed_tail
            self.more = not self.inner.eof and not rest and len(out) == piece
            return out, len(data) - len(rest)
        out = self.inner.decompress(data, max_length=piece)
        self.more = not self.inner.eof and not self.inner.needs_input
        return out, len(data) - (len(self.inner.unused_data) if self.inner.eof else 0)

    @property
    def eof(self) -> bool:
        return self.inner.eof


def resynced(
    chunks: Iterable[bytes], kind: str, piece: int = 4 << 20, start: int = 0, feed: int = 1 << 16
) -> Iterator[bytes | MemberEnd | Damaged]:
    """The decompressed bytes of the gzip members or bz2 streams (``kind``) that ``chunks``
    hold, in order, with ``MemberEnd`` and ``Damaged`` marks (see the module's docstring);
    ``start`` is the input's offset in its file, for the offsets ``Damaged`` names. Input goes
    to the decompressor ``feed`` bytes at a time, so what it copies at each member's end (its
    unused input) stays small however large the chunks are."""
    header, errors = HEADERS[kind], (zlib.error, OSError, EOFError, ValueError)
    source = iter(chunks)
    chunk, at, pos = b"", start, 0  # the chunk being read, its offset, the next byte of it to feed
    view = memoryview(chunk)
    held: list[tuple[int, bytes]] = []  # the chunks from the current member's first byte (their last KEEP)
    member, decoder = start, _Decoder(kind)
    while True:
        if pos >= len(chunk) and not decoder.more:
            following = next(source, None)
            if following is None and decoder.started and not decoder.eof:
                # Cut off, or damaged so that it seemed to go on (a flag bit that announces a
                # file name, read to the end): a later header tells the two apart.
                found = _next_header(header, held, member + 1, source)
                if found is None:
                    yield Damaged(member, "the data ends inside it", cut_short=True)
                    return
                yield Damaged(member, "it does not end before the next member begins")
                member, chunk = found
                at, pos, held, decoder, view = member, 0, [found], _Decoder(kind), memoryview(chunk)
                continue
            if following is None:
                return
            chunk, at, pos = following, at + len(chunk), 0
            view = memoryview(chunk)
            held.append((at, chunk))
            while len(held) > 1 and sum(len(c) for _, c in held[1:]) > KEEP:
                held.pop(0)
        try:
            out, taken = decoder.feed(view[pos:pos] if decoder.more else view[pos : pos + feed], piece)
        except errors as error:
            yield Damaged(member, f"{type(error).__name__}: {error}")
            found = _next_header(header, held, member + 1, source)
            if found is None:
                return
            member, chunk = found
            at, pos, held, decoder, view = member, 0, [found], _Decoder(kind), memoryview(chunk)
            continue
        pos += taken
        if out:
            yield out
        if decoder.eof:
            yield MemberEnd(member)
            member, held, decoder = at + pos, [(at, chunk)], _Decoder(kind)


def _next_header(
    header: re.Pattern, held: list[tuple[int, bytes]], after: int, source: Iterator[bytes]
) -> tuple[int, bytes] | None:
    """(offset, the bytes from there to the end of what was read) of the first member header at
    or after offset ``after``, reading on from ``source`` as needed; None when there is none."""
    blob_at = held[0][0]
    blob = b"".join(c for _, c in held)
    while (found := header.search(blob, max(0, after - blob_at))) is None:
        following = next(source, None)
        if following is None:
            return None
        kept = min(len(blob), 16)  # a header split across two chunks is still found
        blob_at, blob = blob_at + len(blob) - kept, blob[len(blob) - kept :] + following
    return blob_at + found.start(), blob[found.start() :]


def whole_members(
    chunks: Iterable[bytes], kind: str, limit: int, start: int = 0, after: int = -1
) -> Iterator[bytes | Damaged]:
    """Each member's decompressed bytes whole, or ``Damaged`` in place of a member that could
    not be read or would exceed ``limit`` bytes (the bytes held never exceed it). Members that
    begin at or before offset ``after`` (read already, by a faster reader that then stopped)
    are left out; their damage is not."""
    held: list[bytes] = []
    size, over = 0, False
    for item in resynced(chunks, kind, min(limit + 1, 4 << 20), start):
        if type(item) is bytes:
            size += len(item)
            over = over or size > limit
            if not over:
                held.append(item)
            else:
                held = []
            continue
        if type(item) is not MemberEnd:
            yield item
        elif over:
            yield Damaged(item.offset, f"a member of more than {limit:,} bytes", too_large=True)
        elif item.offset > after:
            yield held[0] if len(held) == 1 else b"".join(held)
        held, size, over = [], 0, False


class MemberStream(io.RawIOBase):
    """A file-like object reading the members ``whole_members`` gives back to back, as one
    uncompressed stream (what a WARC parser reads); the ``Damaged`` ones are kept in
    ``damaged`` instead, in order."""

    def __init__(self, members: Iterator[bytes | Damaged]):
        super().__init__()
        self.members = members
        self.damaged: list[Damaged] = []
        self.buffer = memoryview(b"")
        self.position = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def readinto(self, target) -> int:
        while not self.buffer:
            item = next(self.members, None)
            if item is None:
                return 0
            if isinstance(item, Damaged):
                self.damaged.append(item)
            else:
                self.buffer = memoryview(item)
        size = min(len(target), len(self.buffer))
        target[:size] = self.buffer[:size]
        self.buffer = self.buffer[size:]
        self.position += size
        return size
