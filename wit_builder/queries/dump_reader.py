"""Stream the pages of MediaWiki XML dumps, surviving malformed pages.

Wikimedia's dumps are line-oriented: ``<page>`` and ``</page>`` stand on lines of their own.
The reader cuts the stream into page elements at those lines and parses each one alone with
ElementTree, so a malformed page (an unclosed tag, a bare ``&``, a page with no end) is counted
and skipped while every page around it is read. Nothing holds more than one page in memory,
and a page may hold at most ``MAX_PAGE_CHARS`` characters: an unclosed ``<page>`` followed by
hundreds of megabytes is one malformed page, read in bounded pieces and dropped.

A file that stops decompressing part-way (a ``.bz2`` cut off after its first blocks) gives the
pages before the cut, then a ``DumpError`` naming the file and what went wrong. A damaged bz2
stream in the middle of a multistream file costs its own pages: the reader goes on at the next
stream (``io.compressed``), and says where the damage was (``Damaged``).

Files are read through fsspec (local, ``gs://``, ``s3://``), decompressed by extension
(``.bz2``, ``.gz``, or plain). A ``.bz2`` is decompressed a megabyte of input at a time
(``wit_builder.io.lines.file_lines``). A bz2 **multistream** file with its index
(``...-multistream-index...txt...bz2`` beside it) is split into ranges of streams, so one
huge file becomes many work items; any other file is one work item.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from xml.etree import ElementTree

import fsspec

from wit_builder.io.compressed import Damaged
from wit_builder.io.lines import LongLine, bz2_lines, file_lines, read_range
from wit_builder.io.paths import expand_globs
from wit_builder.queries.languages import ENGLISH, dump_language

STREAMS_PER_RANGE = 50  # 100 pages a stream: 5,000 pages a work item
# The largest page element read (characters of XML). English Wikipedia's largest articles hold a
# few megabytes of wikitext; anything near this limit is junk.
MAX_PAGE_CHARS = 32 << 20


@dataclass(frozen=True)
class Page:
    title: str
    namespace: int
    redirect: bool
    text: str


@dataclass(frozen=True)
class MalformedPage:
    """A page element that could not be read, and why."""

    reason: str


@dataclass(frozen=True)
class DumpError:
    """A dump file (or range) that could not be read to its end: the pages before are read."""

    label: str
    error: str


@dataclass(frozen=True)
class DumpSlice:
    """One work item: a whole dump file, or a byte range of streams of a multistream file."""

    path: str
    start: int | None = None
    end: int | None = None  # None: to the end of the file
    lang: str = ENGLISH  # the dump's language (its <siteinfo>), which every page of it is in

    @property
    def label(self) -> str:
        return self.path if self.start is None else f"{self.path}[{self.start}:{self.end or ''}]"


def _page_elements(
    lines: Iterable[str | LongLine | Damaged], max_chars: int = MAX_PAGE_CHARS
) -> Iterator[str | MalformedPage | Damaged]:
    """The text of each ``<page>...</page>`` element, or a MalformedPage for one left open, one
    over ``max_chars`` characters, or one holding a line too long to read; such a page is
    skipped up to the next ``<page>``. A damaged bz2 stream's mark is passed on."""
    buffer: list[str] | None = None
    size = 0
    for line in lines:
        if isinstance(line, Damaged):  # a damaged bz2 stream: the page it cut is lost, the next read
            if buffer is not None:
                yield MalformedPage("cut by a damaged bz2 stream")
                buffer = None
            yield line
            continue
        if isinstance(line, LongLine):
            if buffer is not None:
                yield MalformedPage(f"a line of {line.length:,} characters (the limit is {max_chars:,})")
                buffer = None
            continue
        stripped = line.strip()
        if stripped == "<page>":
            if buffer is not None:
                yield MalformedPage("a <page> began before the previous one ended")
            buffer, size = [line], len(line)
        elif buffer is not None:
            buffer.append(line)
            size += len(line)
            if stripped == "</page>":
                yield "".join(buffer)
                buffer = None
            elif size > max_chars:
                yield MalformedPage(f"a page over {max_chars:,} characters")
                buffer = None
    if buffer is not None:
        yield MalformedPage("the file ended inside a <page>")


def parse_page(element_text: str) -> Page | MalformedPage:
    """A page element's title, namespace, redirect flag and its last revision's text."""
    try:
        element = ElementTree.fromstring(element_text)
    except ElementTree.ParseError as error:
        return MalformedPage(f"not well-formed XML: {error}")
    title = element.findtext("title")
    namespace = element.findtext("ns")
    revisions = element.findall("revision")
    if title is None or namespace is None or not namespace.strip().lstrip("-").isdigit() or not revisions:
        return MalformedPage("a page without <title>, a numeric <ns> or a <revision>")
    text = revisions[-1].findtext("text") or ""
    return Page(title=title, namespace=int(namespace), redirect=element.find("redirect") is not None, text=text)


def read_pages(lines: Iterable[str | LongLine | Damaged]) -> Iterator[Page | MalformedPage | Damaged]:
    """Every page of a dump's lines, in order (and the marks of damaged bz2 streams)."""
    for element in _page_elements(lines):
        yield parse_page(element) if isinstance(element, str) else element


def _index_path(path: str) -> str | None:
    """The multistream index beside a multistream dump file, by Wikimedia's naming."""
    name = path.rsplit("/", 1)[-1]
    if "-multistream" not in name or not name.endswith(".bz2"):
        return None
    match = re.match(r"(.*)-multistream(\d*)\.xml(.*)\.bz2$", name)
    if not match:
        return None
    stem, number, span = match.groups()
    return path[: len(path) - len(name)] + f"{stem}-multistream-index{number}.txt{span}.bz2"


def stream_offsets(index_path: str) -> list[int]:
    """The distinct byte offsets of page streams listed in a multistream index, ascending."""
    with fsspec.open(index_path, "rt", compression="bz2", encoding="utf-8") as handle:
        offsets = {int(line.split(":", 1)[0]) for line in handle if line.strip()}
    return sorted(offsets)


def plan_slices(path: str, streams_per_range: int = STREAMS_PER_RANGE, lang: str = ENGLISH) -> list[DumpSlice]:
    """Work items for one dump file of language ``lang``: ranges of streams when its index
    exists, else the file."""
    index = _index_path(path)
    if index is None:
        return [DumpSlice(path, lang=lang)]
    filesystem, _ = fsspec.core.url_to_fs(index)
    if not filesystem.exists(index):
        return [DumpSlice(path, lang=lang)]
    offsets = stream_offsets(index)
    starts = offsets[::streams_per_range]
    return [DumpSlice(path, start, end, lang) for start, end in itertools.pairwise([*starts, None])]


def read_slice(dump_slice: DumpSlice) -> Iterator[Page | MalformedPage | Damaged | DumpError]:
    """Every page of one work item; ``Damaged`` where a bz2 stream of it was damaged (its pages
    lost, the next stream's read); a ``DumpError`` last when it could not be read to its end."""
    try:
        if dump_slice.start is None:
            yield from read_pages(file_lines(dump_slice.path, MAX_PAGE_CHARS))
        else:  # a range of whole bz2 streams
            yield from read_pages(
                bz2_lines(
                    read_range(dump_slice.path, dump_slice.start, dump_slice.end),
                    MAX_PAGE_CHARS,
                    start=dump_slice.start,
                )
            )
    except (OSError, EOFError, ValueError) as error:  # cut off, corrupt, or unreachable part-way
        yield DumpError(dump_slice.label, f"{type(error).__name__}: {error}")


def is_stream_index(path: str) -> bool:
    """Whether ``path`` is a multistream dump's index (read with its dump, not as a dump)."""
    return "-multistream-index" in path.rsplit("/", 1)[-1]


def dump_files(patterns: Iterable[str]) -> list[str]:
    """The dump files the patterns name, multistream index files left out."""
    return [p for p in expand_globs(patterns) if not is_stream_index(p)]


def inspect_dump(path: str, probe_chars: int = 1 << 16) -> tuple[str | None, str | None]:
    """(why ``path`` cannot be read as a MediaWiki XML export, or None; its language, or None
    when its ``<siteinfo>`` names none), from its first characters after decompression. A file
    that does not decompress, or holds no ``<mediawiki`` element at its start, cannot be read."""
    parts: list[str] = []
    size = 0
    try:  # line by line as the stage reads it: a damaged bz2 stream in the head is skipped there too
        for line in file_lines(path, probe_chars):
            if isinstance(line, str):
                parts.append(line)
                size += len(line)
            if size >= probe_chars:
                break
    except (OSError, EOFError, ValueError) as error:
        if not parts:
            return f"{type(error).__name__}: {error}", None
    head = "".join(parts)[:probe_chars]
    if "<mediawiki" not in head:
        return "not a MediaWiki XML export (no <mediawiki> element at its start)", None
    return None, dump_language(head)


def dump_problem(path: str, probe_chars: int = 1 << 16) -> str | None:
    """Why ``path`` cannot be read as a MediaWiki XML export, or None when it can."""
    return inspect_dump(path, probe_chars)[0]
