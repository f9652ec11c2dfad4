"""Common Crawl WAT files describing the synthetic web's pages.

A WAT file is a WARC/1.0 file of ``metadata`` records, each a separate gzip member, whose JSON
payload describes one record of the crawl's WARC file. For an HTML response the links sit at
``Envelope.Payload-Metadata.HTTP-Response-Metadata.HTML-Metadata.Links``, each with a
``path`` (``IMG@/src``, ``A@/href``, ...), the ``url`` as written in the page, and ``alt`` or
``text``; ``HTML-Metadata.Head.Base`` carries ``<base href>``. As in a real crawl, every page
comes as a request, a response and a metadata record, and non-HTML responses (robots.txt)
appear too. The files are laid out as Common Crawl publishes them, with a ``wat.paths.gz``.

``damaged=True`` adds the faults harvest must survive: a record whose payload is not JSON, one
whose JSON lacks the envelope, and a last gzip member cut short.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from wit_builder.synthetic.catalog import WebCatalog, WebPage

CRAWL = "CC-MAIN-2026-01"
SEGMENT = "1767225600000.00"
WARC_DATE = "2026-01-01T00:00:00Z"


def _record_id(*names: object) -> str:
    digest = hashlib.blake2b("\x1f".join(map(str, names)).encode(), digest_size=16).digest()
    return f"<urn:uuid:{uuid.UUID(bytes=digest)}>"


def warc_record(headers: dict[str, str], payload: bytes) -> bytes:
    """One WARC/1.0 record: header lines, a blank line, the block, and two CRLFs."""
    lines = ["WARC/1.0", *(f"{name}: {value}" for name, value in headers.items()), f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload + b"\r\n\r\n"


def gzip_member(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def metadata_record(target: str, record_id: str, payload: bytes, refers_to: str | None = None) -> bytes:
    """A WAT ``metadata`` record holding a JSON payload about ``target``."""
    headers = {"WARC-Type": "metadata", "WARC-Target-URI": target, "WARC-Date": WARC_DATE, "WARC-Record-ID": record_id}
    if refers_to:
        headers["WARC-Refers-To"] = refers_to
    headers["Content-Type"] = "application/json"
    return warc_record(headers, payload)


def _envelope(warc_type: str, target: str, record_id: str, payload_metadata: dict) -> dict:
    return {
        "Container": {
            "Filename": f"{CRAWL}-00000.warc.gz",
            "Compressed": True,
            "Offset": "0",
            "Gzip-Metadata": {"Deflate-Length": "0", "Header-Length": "10", "Footer-Length": "8"},
        },
        "Envelope": {
            "Format": "WARC",
            "WARC-Header-Length": "400",
            "Actual-Content-Length": "0",
            "WARC-Header-Metadata": {
                "WARC-Type": warc_type,
                "WARC-Date": WARC_DATE,
                "WARC-Record-ID": record_id,
                "WARC-Target-URI": target,
                "WARC-IP-Address": "127.0.0.1",
                "Content-Type": f"application/http; msgtype={warc_type}",
            },
            "Payload-Metadata": payload_metadata,
        },
    }


def page_links(catalog: WebCatalog, page: WebPage, base_urls: list[str]) -> list[dict[str, str]]:
    """The ``Links`` list of a page: its images with alt text, and its anchors."""
    links: list[dict[str, str]] = [{"path": "LINK@/href", "url": "/style.css", "rel": "stylesheet"}]
    for item in page.images:
        links.append({"path": "IMG@/src", "url": catalog.src(page, item, base_urls), "alt": item.alt})
    for offset in (1, 7):
        other = (page.page_id + offset) % catalog.config.web_pages
        links.append({"path": "A@/href", "url": f"/pages/{other}.html", "text": f"page {other}"})
    return links


def _page_records(catalog: WebCatalog, page: WebPage, base_urls: list[str]) -> Iterator[bytes]:
    metas = [{"name": "viewport", "content": "width=device-width"}]
    metas += [{"name": name, "content": content} for name, content in page.metas]
    head: dict[str, object] = {"Title": page.title, "Metas": metas}
    base = page.base_href(base_urls)
    if base:
        head["Base"] = base
    yield from page_records(page.url(base_urls), page.path, head, page_links(catalog, page, base_urls))


def page_records(url: str, path: str, head: dict[str, object], links: list[dict[str, str]]) -> Iterator[bytes]:
    """The request, response and metadata WAT records of one HTML page at ``url`` whose
    ``HTML-Metadata`` holds ``head`` and ``links`` (a benchmark writes pages of its own)."""
    response_id = _record_id("response", url)
    request = _envelope(
        "request",
        url,
        _record_id("request", url),
        {
            "Actual-Content-Type": "application/http; msgtype=request",
            "HTTP-Request-Metadata": {
                "Request-Message": {"Method": "GET", "Path": path, "Version": "HTTP/1.1"},
                "Headers": {"Host": url.split("/")[2], "User-Agent": "CCBot/2.0"},
            },
        },
    )
    response = _envelope(
        "response",
        url,
        response_id,
        {
            "Actual-Content-Type": "application/http; msgtype=response",
            "HTTP-Response-Metadata": {
                "Response-Message": {"Version": "HTTP/1.1", "Status": "200", "Reason": "OK"},
                "Headers": {"Content-Type": "text/html; charset=utf-8"},
                "HTML-Metadata": {"Head": head, "Links": links},
            },
        },
    )
    metadata = _envelope(
        "metadata", url, _record_id("metadata", url), {"Actual-Content-Type": "application/warc-fields"}
    )
    for envelope, kind in ((request, "request"), (response, "response"), (metadata, "metadata")):
        payload = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()
        refers_to = envelope["Envelope"]["WARC-Header-Metadata"]["WARC-Record-ID"]
        yield metadata_record(url, _record_id("wat", kind, url), payload, refers_to)


def _robots_record(base_url: str) -> bytes:
    url = f"{base_url}/robots.txt"
    envelope = _envelope(
        "response",
        url,
        _record_id("response", url),
        {
            "Actual-Content-Type": "application/http; msgtype=response",
            "HTTP-Response-Metadata": {
                "Response-Message": {"Version": "HTTP/1.1", "Status": "200", "Reason": "OK"},
                "Headers": {"Content-Type": "text/plain"},
                "Entity-Length": "24",
            },
        },
    )
    payload = json.dumps(envelope, separators=(",", ":")).encode()
    return metadata_record(url, _record_id("wat", "robots", url), payload)


def _damaged_records(base_url: str) -> list[bytes]:
    """A record whose JSON is cut off mid-way, and one whose JSON has no envelope."""
    broken_json = b'{"Envelope": {"Payload-Metadata": {"HTTP-Response-Metadata": {"HTML-Metadata": {"Links": ['
    return [
        metadata_record(f"{base_url}/broken.html", _record_id("wat", "broken", base_url), broken_json),
        metadata_record(f"{base_url}/odd.html", _record_id("wat", "odd", base_url), b'{"Container": {}}'),
    ]


def write_wat_files(
    catalog: WebCatalog,
    base_urls: list[str],
    out_dir: str | Path,
    files: int,
    damaged: bool = False,
) -> list[Path]:
    """Write the pages over ``files`` WAT files and the ``wat.paths.gz`` listing them."""
    out = Path(out_dir)
    pages = catalog.pages
    per_file = -(-len(pages) // max(1, files))
    written: list[Path] = []
    relative_paths: list[str] = []
    for number in range(max(1, files)):
        chunk: Sequence[WebPage] = pages[number * per_file : (number + 1) * per_file]
        name = f"{CRAWL}-20260101000000-20260101010000-{number:05d}.warc.wat.gz"
        relative = f"crawl-data/{CRAWL}/segments/{SEGMENT}/wat/{name}"
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        info = warc_record(
            {
                "WARC-Type": "warcinfo",
                "WARC-Date": WARC_DATE,
                "WARC-Filename": name,
                "WARC-Record-ID": _record_id("warcinfo", name),
                "Content-Type": "application/warc-fields",
            },
            b"Software-Info: wit-builder synthetic world\r\nformat: WARC File Format 1.0\r\n",
        )
        members = [
            gzip_member(info),
            gzip_member(_robots_record(base_urls[number % len(base_urls)])),
        ]
        for page in chunk:
            members.extend(gzip_member(record) for record in _page_records(catalog, page, base_urls))
        if damaged:
            middle = len(members) // 2
            members[middle:middle] = [gzip_member(record) for record in _damaged_records(base_urls[0])]
            last = members[-1]
            members[-1] = last[: len(last) // 2]  # a truncated last member, as a cut download leaves
        path.write_bytes(b"".join(members))
        written.append(path)
        relative_paths.append(relative)
    (out / "wat.paths.gz").write_bytes(gzip.compress(("\n".join(relative_paths) + "\n").encode(), mtime=0))
    return written
