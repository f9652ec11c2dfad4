"""Write pages as a MediaWiki XML export (schema 0.11), as Wikimedia's dumps publish them.

Three layouts, as on the dumps site:
- ``none``: ``enwiki-DATE-pages-articlesN.xml-pFIRSTpLAST``
- ``bz2``: the same, bzip2-compressed
- ``multistream``: ``enwiki-DATE-pages-articles-multistreamN.xml-pFIRSTpLAST.bz2``, one bz2
  stream for the header, one per 100 pages and one for the footer, with the matching
  ``...-multistream-indexN.txt-pFIRSTpLAST.bz2`` of ``offset:page_id:title`` lines.
Every split file is a complete ``<mediawiki>`` document with its own ``<siteinfo>``.
"""

from __future__ import annotations

import bz2
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

from wit_builder.synthetic.wikipages import NAMESPACES, WikiPage

Compression = Literal["none", "bz2", "multistream"]
DUMP_DATE = "20260101"
EXPORT_NS = "http://www.mediawiki.org/xml/export-0.11/"
PAGES_PER_STREAM = 100


def _base36_sha1(text: str) -> str:
    """The revision hash as dumps write it: SHA-1 of the text in base 36, 31 digits."""
    number = int.from_bytes(hashlib.sha1(text.encode()).digest(), "big")
    digits = []
    while number:
        number, digit = divmod(number, 36)
        digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[digit])
    return "".join(reversed(digits)).rjust(31, "0")


def dbname(lang: str) -> str:
    """The wiki database name of a language's Wikipedia (``de`` → ``dewiki``, ``zh-yue`` → ``zh_yuewiki``)."""
    return lang.replace("-", "_") + "wiki"


def header_xml(lang: str = "en") -> str:
    namespaces = "\n".join(
        f'      <namespace key="{key}" case="first-letter" />'
        if not name
        else f'      <namespace key="{key}" case="first-letter">{escape(name)}</namespace>'
        for key, name in NAMESPACES.items()
    )
    return (
        f'<mediawiki xmlns="{EXPORT_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{EXPORT_NS} http://www.mediawiki.org/xml/export-0.11.xsd" '
        f'version="0.11" xml:lang="{lang}">\n'
        "  <siteinfo>\n"
        "    <sitename>Synthetic Wikipedia</sitename>\n"
        f"    <dbname>{dbname(lang)}</dbname>\n"
        "    <base>http://wiki.wit-builder.invalid/wiki/Main_Page</base>\n"
        "    <generator>MediaWiki 1.46.0-wmf.1</generator>\n"
        "    <case>first-letter</case>\n"
        f"    <namespaces>\n{namespaces}\n    </namespaces>\n"
        "  </siteinfo>\n"
    )


FOOTER_XML = "</mediawiki>\n"


def page_xml(page: WikiPage) -> str:
    """One ``<page>`` element; revision ids and timestamps derive from the page id."""
    redirect = f"    <redirect title={quoteattr(page.redirect_to)} />\n" if page.redirect_to else ""
    sha1 = _base36_sha1(page.text)
    revision_id = 1_200_000_000 + page.page_id
    minute = page.page_id % 60
    return (
        "  <page>\n"
        f"    <title>{escape(page.title)}</title>\n"
        f"    <ns>{page.namespace}</ns>\n"
        f"    <id>{page.page_id}</id>\n"
        f"{redirect}"
        "    <revision>\n"
        f"      <id>{revision_id}</id>\n"
        f"      <parentid>{revision_id - 1}</parentid>\n"
        f"      <timestamp>2025-12-31T12:{minute:02d}:00Z</timestamp>\n"
        "      <contributor>\n"
        f"        <username>Editor{page.page_id % 97}</username>\n"
        f"        <id>{1000 + page.page_id % 97}</id>\n"
        "      </contributor>\n"
        "      <comment>synthetic revision</comment>\n"
        f"      <origin>{revision_id}</origin>\n"
        "      <model>wikitext</model>\n"
        "      <format>text/x-wiki</format>\n"
        f'      <text bytes="{len(page.text.encode())}" sha1="{sha1}" xml:space="preserve">{escape(page.text)}</text>\n'
        f"      <sha1>{sha1}</sha1>\n"
        "    </revision>\n"
        "  </page>\n"
    )


def broken_page_xml(page_id: int) -> str:
    """A page that is not well-formed XML (an unclosed tag, a bare ampersand, no ``</revision>``),
    as a damaged dump may hold; a page-tolerant reader must skip it and keep the rest."""
    return (
        "  <page>\n"
        f"    <title>Broken page {page_id}</title>\n"
        "    <ns>0</ns>\n"
        f"    <id>{page_id}</id>\n"
        "    <revision>\n"
        f"      <id>{1_200_000_000 + page_id}</id>\n"
        '      <text xml:space="preserve">Fish & chips <unclosed words\n'
        "  </page>\n"
    )


def _split(pages: Sequence[WikiPage], parts: int) -> list[Sequence[WikiPage]]:
    parts = max(1, min(parts, len(pages)))
    size = -(-len(pages) // parts)
    return [pages[i : i + size] for i in range(0, len(pages), size)]


def _page_chunks(pages: Sequence[WikiPage], broken_every: int) -> Iterable[tuple[WikiPage | None, str]]:
    """Each page's XML, preceded every ``broken_every`` pages by a malformed one (page None)."""
    for index, page in enumerate(pages):
        if broken_every and index % broken_every == broken_every - 1:
            yield None, broken_page_xml(page.page_id + 1_000_000)
        yield page, page_xml(page)


def write_wiki_dump(
    pages: Sequence[WikiPage],
    out_dir: str | Path,
    files: int = 1,
    compression: Compression = "bz2",
    broken_every: int = 0,
    lang: str = "en",
) -> list[Path]:
    """Write ``pages`` split over ``files`` dump files of the ``lang`` Wikipedia; returns the
    dump files written.

    ``broken_every=k`` inserts a malformed page before every k-th page (0: none).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for number, part in enumerate(_split(pages, files), start=1):
        span = f"p{part[0].page_id}p{part[-1].page_id}"
        if compression == "multistream":
            path = out / f"{dbname(lang)}-{DUMP_DATE}-pages-articles-multistream{number}.xml-{span}.bz2"
            index = out / f"{dbname(lang)}-{DUMP_DATE}-pages-articles-multistream-index{number}.txt-{span}.bz2"
            _write_multistream(part, path, index, broken_every, lang)
        else:
            name = f"{dbname(lang)}-{DUMP_DATE}-pages-articles{number}.xml-{span}"
            path = out / (name + (".bz2" if compression == "bz2" else ""))
            body = header_xml(lang) + "".join(xml for _, xml in _page_chunks(part, broken_every)) + FOOTER_XML
            data = body.encode()
            path.write_bytes(bz2.compress(data, 9) if compression == "bz2" else data)
        written.append(path)
    return written


def _write_multistream(
    pages: Sequence[WikiPage], path: Path, index_path: Path, broken_every: int, lang: str = "en"
) -> None:
    index_lines: list[str] = []
    with path.open("wb") as out:
        out.write(bz2.compress(header_xml(lang).encode(), 9))
        chunks = list(_page_chunks(pages, broken_every))
        for start in range(0, len(chunks), PAGES_PER_STREAM):
            offset = out.tell()
            stream = chunks[start : start + PAGES_PER_STREAM]
            index_lines.extend(f"{offset}:{page.page_id}:{page.title}" for page, _ in stream if page is not None)
            out.write(bz2.compress("".join(xml for _, xml in stream).encode(), 9))
        out.write(bz2.compress(FOOTER_XML.encode(), 9))
    index_path.write_bytes(bz2.compress(("\n".join(index_lines) + "\n").encode(), 9))
