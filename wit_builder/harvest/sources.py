"""Raw (url, text) pairs out of Common Crawl WAT files and URL + caption lists, streamed.

Every reader yields ``RawPair`` for each pair and ``Rejected`` (a reason for ``stats.json``)
for each thing it could not read: a record whose JSON is broken or nested too deep, a WAT record
without an envelope or too large, a list row with the wrong shape or a line too long, a file
that cannot be opened or decompressed. A bad record never stops the file, and a bad file never
stops the stage: a file that breaks part-way keeps the pairs read before the break and is
reported as ``file_cut_short`` (``unreadable_file`` when nothing could be read), with its path;
a WAT file with a damaged gzip member loses that member's record and is read on from the next
member (``file_damaged``, named, and ``wat_member_damaged`` per member).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from wit_builder.io.compressed import MemberStream, whole_members
from wit_builder.io.lines import LongLine, bounded_lines


@dataclass(frozen=True)
class RawPair:
    url: str
    text: str
    page_url: str | None
    base_href: str | None
    source: str
    page_opt_out: str | None = None  # a page-level opt-out (``page_opt_out``), carried to download
    face_bboxes: object = None  # the list's face boxes as given (``face_boxes.parse_face_boxes`` reads them)


@dataclass(frozen=True)
class Rejected:
    reason: str
    detail: str = ""


# Reasons that are about a whole file; their detail starts with the file's path.
FILE_REASONS = ("unreadable_file", "file_cut_short", "file_damaged")
MAX_WAT_RECORD = 64 << 20  # bytes of one WAT record's JSON; real ones are kilobytes
MAX_WARC_HEADERS = 1 << 20  # bytes of a record's WARC headers, beside its JSON, in one gzip member


def _file_failed(path: str, error: BaseException, records: int) -> Rejected:
    """A file that broke: cut short after ``records`` records, or unreadable when none."""
    detail = f"{path}: {type(error).__name__}: {error}"[:300]
    if records:
        return Rejected("file_cut_short", f"{detail} (after {records:,} records)")
    return Rejected("unreadable_file", detail)


# --- Common Crawl WAT -------------------------------------------------------------------------


def _html_metadata(payload: dict) -> tuple[str | None, dict] | None:
    """(page URL, HTML-Metadata) of a WAT payload describing an HTML response, else None."""
    envelope = payload["Envelope"]
    metadata = envelope.get("Payload-Metadata", {}).get("HTTP-Response-Metadata", {}).get("HTML-Metadata")
    if not isinstance(metadata, dict):
        return None
    return envelope.get("WARC-Header-Metadata", {}).get("WARC-Target-URI"), metadata


def pairs_from_wat_payload(body: bytes, source: str) -> Iterator[RawPair | Rejected]:
    """The ``IMG@/src`` links (with ``alt``) of one WAT record's JSON payload."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as error:  # broken, or nested deeper than Python's parser goes
        yield Rejected("wat_bad_json", f"{type(error).__name__}: {error}"[:200])
        return
    if not isinstance(payload, dict) or not isinstance(payload.get("Envelope"), dict):
        yield Rejected("wat_no_envelope")
        return
    found = _html_metadata(payload)
    if found is None:
        yield Rejected("wat_not_html")
        return
    page_url, metadata = found
    head = metadata.get("Head") if isinstance(metadata.get("Head"), dict) else {}
    base = head.get("Base")
    opt_out = page_opt_out(head.get("Metas"))
    for link in metadata.get("Links") or ():
        if isinstance(link, dict) and link.get("path") == "IMG@/src":
            yield RawPair(str(link.get("url", "")), str(link.get("alt", "")), page_url, base, source, opt_out)


# Page-level opt-outs: <meta name="robots"> (or one naming our crawler) with these directives,
# and TDMRep's <meta name="tdm-reservation" content="1">.
ROBOTS_META_NAMES = ("robots", "wit-builder")
META_DIRECTIVES = ("noai", "noimageai", "noml")


def page_opt_out(metas: object) -> str | None:
    """The opt-out a page declares in its ``<meta>`` tags (a WAT record's ``Head.Metas``), as
    the error its images end with (``page <meta name=robots>: noimageai``); None when none."""
    for meta in metas if isinstance(metas, list) else ():
        if not isinstance(meta, dict):
            continue
        name = str(meta.get("name", "")).strip().lower()
        content = str(meta.get("content", "")).strip().lower()
        if name in ROBOTS_META_NAMES:
            for directive in (part.strip() for part in content.split(",")):
                if directive in META_DIRECTIVES:
                    return f"page <meta name={name}>: {directive}"
        elif name == "tdm-reservation" and content == "1":
            return "page <meta name=tdm-reservation>: 1"
    return None


def read_wat(path: str) -> Iterator[RawPair | Rejected]:
    """Every image link of one WAT file (``.warc.wat.gz``, any fsspec URL). A gzip member that
    is damaged (its data or its check sum) costs its own record: reading goes on at the next
    member (``io.compressed``), each is counted (``wat_member_damaged``) and the file is named
    (``file_damaged``) with where its damage was.

    A file is read by FastWARC alone, at its speed, until it fails; a gzip file that failed is
    then read on from the member after the last record read, member by member, skipping what
    cannot be decompressed (about 1.7× FastWARC's time, so only where it is needed)."""
    records, last, compressed = 0, -1, False  # the records read, the offset of the last one's member
    try:
        with fsspec.open(path, "rb") as handle:
            compressed = handle.read(2) == b"\x1f\x8b"
            handle.seek(0)
            for record in _metadata_records(handle):
                records += 1
                yield from _record_pairs(record, path)
                last = record.stream_pos
    except Exception as error:  # any failure to read the file is reported, never raised
        if not compressed:
            yield _file_failed(path, error, records)
            return
        yield from _read_wat_members(path, records, last, error)
        return
    if records == 0:
        yield Rejected("unreadable_file", f"{path}: no WARC metadata records")


def _metadata_records(stream) -> Iterator:
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    return ArchiveIterator(stream, record_types=WarcRecordType.metadata, parse_http=False)


def _record_pairs(record, path: str) -> Iterator[RawPair | Rejected]:
    """The pairs of one WAT metadata record, its body read whole first (a read that fails
    raises before any of its pairs is out)."""
    if record.content_length > MAX_WAT_RECORD:
        yield Rejected("wat_record_too_large", f"{record.content_length:,} bytes")
        return
    body = record.reader.read()
    try:
        yield from pairs_from_wat_payload(body, path)
    except Exception as error:  # a record the reader cannot make sense of costs that record
        yield Rejected("wat_bad_record", f"{type(error).__name__}: {error}"[:200])


def _read_wat_members(path: str, records: int, last: int, first_error: Exception) -> Iterator[RawPair | Rejected]:
    """The rest of a gzip WAT file that FastWARC could not read to its end: the members after
    the one at offset ``last``, the damaged ones skipped and counted."""
    stream = None
    try:
        with fsspec.open(path, "rb") as handle:
            blocks = iter(lambda: handle.read(1 << 20), b"")
            stream = MemberStream(whole_members(blocks, "gzip", MAX_WAT_RECORD + MAX_WARC_HEADERS, after=last))
            for record in _metadata_records(stream):
                records += 1
                yield from _record_pairs(record, path)
    except Exception as error:
        yield from _member_faults(path, stream)
        yield _file_failed(path, error, records)
        return
    yield from _member_faults(path, stream)
    if stream is not None and not stream.damaged:  # it failed for a reason the members do not show
        yield _file_failed(path, first_error, records)


def _member_faults(path: str, stream: MemberStream | None) -> Iterator[Rejected]:
    """The gzip members a WAT file's reading skipped: each counted, and the file named once
    (``file_damaged``), or as ``file_cut_short`` when its last member was cut off."""
    if stream is None:
        return
    damaged = [fault for fault in stream.damaged if not fault.cut_short]
    for fault in damaged:
        yield Rejected("wat_record_too_large" if fault.too_large else "wat_member_damaged", fault.error[:200])
    if damaged:
        first = damaged[0]
        yield Rejected(
            "file_damaged",
            f"{path}: {len(damaged):,} gzip member(s) skipped, the first at byte {first.offset:,} ({first.error})"[
                :300
            ],
        )
    if any(fault.cut_short for fault in stream.damaged):
        yield Rejected("file_cut_short", f"{path}: its last gzip member is cut short")


def wat_paths_listing(listing: str, prefix: str | None = None) -> list[str]:
    """The WAT files a ``wat.paths.gz`` names, resolved against ``prefix``: by default the part
    of the listing's URL before ``crawl-data/`` (``s3://commoncrawl/``), else its folder."""
    with fsspec.open(listing, "rt", compression="infer") as handle:
        relative = [line.strip() for line in handle if line.strip()]
    if prefix is None:
        cut = listing.find("crawl-data/")
        prefix = listing[:cut] if cut >= 0 else listing.rsplit("/", 1)[0] + "/"
    return [prefix.rstrip("/") + "/" + path.lstrip("/") for path in relative]


# --- URL + caption lists ----------------------------------------------------------------------


@dataclass(frozen=True)
class ListLayout:
    """How a list file holds its pairs: ``columns`` are names (headed files) or, for headerless
    TSV/CSV, the positions of url and caption."""

    kind: str  # parquet, tsv, csv, jsonl
    url: str | int
    text: str | int
    header: bool = True


PRESETS = {
    "cc3m": ListLayout("tsv", url=1, text=0, header=False),
    "cc12m": ListLayout("tsv", url=0, text=1, header=False),
    "laion": ListLayout("parquet", url="URL", text="TEXT"),
    "datacomp": ListLayout("parquet", url="url", text="text"),
}
URL_NAMES = ("url", "URL", "image_url")
FACE_BOXES = "face_bboxes"  # DataComp's column of normalised [x0, y0, x1, y1] face boxes
TEXT_NAMES = ("caption", "text", "TEXT", "CAPTION", "alt")


def _pick(names: list[str], wanted: tuple[str, ...], path: str, what: str) -> str:
    for name in wanted:
        if name in names:
            return name
    raise ValueError(f"{path}: no {what} column among {names}; name it with --{what}-column")


def _kind_of(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    for suffix in (".gz", ".bz2", ".zst"):
        name = name.removesuffix(suffix)
    for kind in ("parquet", "tsv", "csv", "jsonl"):
        if name.endswith("." + kind) or (kind == "jsonl" and name.endswith(".json")):
            return kind
    raise ValueError(f"{path}: cannot tell the list format from the name; give --pairs-format")


def _read_parquet(path: str, layout: ListLayout) -> Iterator[RawPair | Rejected]:
    with fsspec.open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        names = parquet.schema_arrow.names
        url = layout.url if layout.url in names else _pick(names, URL_NAMES, path, "url")
        text = layout.text if layout.text in names else _pick(names, TEXT_NAMES, path, "caption")
        columns = [url, text, *([FACE_BOXES] if FACE_BOXES in names else [])]
        for batch in parquet.iter_batches(columns=columns, batch_size=65_536):
            boxes = batch.column(2).to_pylist() if len(columns) == 3 else itertools.repeat(None)
            for row_url, row_text, row_boxes in zip(
                batch.column(0).to_pylist(), batch.column(1).to_pylist(), boxes, strict=False
            ):
                if row_url is None:
                    yield Rejected("list_row_without_url")
                else:
                    text_value = "" if row_text is None else str(row_text)
                    yield RawPair(str(row_url), text_value, None, None, path, face_bboxes=row_boxes)


def _tsv_rows(handle) -> Iterator[list[str] | Rejected]:
    """The rows of a TSV file: fields split at tabs (no quoting, as CC3M and CC12M write them),
    each line read with a bound; no field-size limit, so a long caption is a pair like any other."""
    for line in bounded_lines(handle):
        if isinstance(line, LongLine):
            yield Rejected("list_row_malformed", f"a line of {line.length:,} characters")
        elif line.strip("\r\n"):
            yield line.rstrip("\r\n").split("\t")


def _csv_rows(handle) -> Iterator[list[str] | Rejected]:
    """The rows of a CSV file; a row the csv module refuses (a field over its size limit, a
    broken quote) is rejected alone and reading goes on."""
    rows = csv.reader(handle)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            yield Rejected("list_row_malformed", str(error)[:200])
            continue
        if row:
            yield row


def _read_delimited(path: str, layout: ListLayout) -> Iterator[RawPair | Rejected]:
    with fsspec.open(path, "rt", compression="infer", encoding="utf-8", errors="replace", newline="") as handle:
        rows = _tsv_rows(handle) if layout.kind == "tsv" else _csv_rows(handle)
        url_index, text_index = layout.url, layout.text
        first: list[list[str]] = []
        boxes_index: int | None = None
        if layout.header:
            names = next((row for row in rows if not isinstance(row, Rejected)), [])
            if layout.url in names or any(name in names for name in URL_NAMES):
                url_index = names.index(layout.url if layout.url in names else _pick(names, URL_NAMES, path, "url"))
                text_name = layout.text if layout.text in names else _pick(names, TEXT_NAMES, path, "caption")
                text_index = names.index(text_name)
                boxes_index = names.index(FACE_BOXES) if FACE_BOXES in names else None  # JSON in a cell
            else:  # no header after all (CC3M, CC12M): the URL column is the one holding a URL
                url_index = next((i for i, cell in enumerate(names) if "://" in cell or cell.startswith("data:")), 0)
                text_index = 1 - url_index if len(names) == 2 else (1 if url_index == 0 else 0)
                first = [names]
        width = max(int(url_index), int(text_index)) + 1
        for row in itertools.chain(first, rows):
            if isinstance(row, Rejected):
                yield row
            elif len(row) < width:
                yield Rejected("list_row_malformed", f"{len(row)} field(s)")
            else:
                boxes = row[boxes_index] if boxes_index is not None and boxes_index < len(row) else None
                yield RawPair(row[int(url_index)], row[int(text_index)], None, None, path, face_bboxes=boxes)


def _read_jsonl(path: str, layout: ListLayout) -> Iterator[RawPair | Rejected]:
    with fsspec.open(path, "rt", compression="infer", encoding="utf-8", errors="replace") as handle:
        for line in bounded_lines(handle):
            if isinstance(line, LongLine):
                yield Rejected("list_row_malformed", f"a line of {line.length:,} characters")
                continue
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):  # broken, or nested deeper than the parser goes
                yield Rejected("list_row_malformed", "not JSON")
                continue
            if not isinstance(row, dict):
                yield Rejected("list_row_malformed", "not an object")
                continue
            url = row.get(layout.url) if layout.url in row else next((row[k] for k in URL_NAMES if k in row), None)
            text = row.get(layout.text) if layout.text in row else next((row[k] for k in TEXT_NAMES if k in row), "")
            if not isinstance(url, str):
                yield Rejected("list_row_without_url")
            else:
                boxes = row.get(FACE_BOXES)
                yield RawPair(url, "" if text is None else str(text), None, None, path, face_bboxes=boxes)


def read_pair_list(path: str, layout: ListLayout | None = None) -> Iterator[RawPair | Rejected]:
    """Every pair of one list file; ``layout`` None: the format from the file name, columns by
    their usual names (url/URL; caption/text/TEXT)."""
    records = 0
    try:
        layout = layout or ListLayout("auto", url="url", text="caption")
        if layout.kind == "auto":
            layout = ListLayout(_kind_of(path), layout.url, layout.text, layout.header)
        reader = {"parquet": _read_parquet, "tsv": _read_delimited, "csv": _read_delimited, "jsonl": _read_jsonl}
        for item in reader[layout.kind](path, layout):
            records += 1
            yield item
    except (OSError, EOFError, ValueError, KeyError, csv.Error, io.UnsupportedOperation, pa.ArrowException) as error:
        yield _file_failed(path, error, records)
