"""WAT files parse with real WARC readers and describe exactly what the web serves."""

from __future__ import annotations

import gzip
import json
from urllib.parse import urljoin

from fastwarc.warc import ArchiveIterator as FastArchiveIterator
from warcio.archiveiterator import ArchiveIterator

from tests.conftest import FIXED_BASE_URLS
from wit_builder.synthetic.wat import write_wat_files


def wat_paths(layout):
    return sorted(layout.root.glob("wat/crawl-data/*/segments/*/wat/*.warc.wat.gz"))


def html_payloads(path):
    with path.open("rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type != "metadata":
                continue
            payload = json.loads(record.content_stream().read())
            envelope = payload["Envelope"]
            metadata = envelope["Payload-Metadata"].get("HTTP-Response-Metadata", {})
            if "HTML-Metadata" in metadata:
                yield envelope["WARC-Header-Metadata"]["WARC-Target-URI"], metadata["HTML-Metadata"]


def test_warcio_and_fastwarc_read_every_record(small_world_dir):
    paths = wat_paths(small_world_dir)
    assert len(paths) == 2
    for path in paths:
        with path.open("rb") as handle:
            warcio_types = [record.rec_type for record in ArchiveIterator(handle)]
        fast_count = 0
        with path.open("rb") as handle:
            for record in FastArchiveIterator(handle, parse_http=False):
                fast_count += 1
                if record.headers.get("Content-Type") == "application/json":
                    assert "Envelope" in json.loads(record.reader.read())
        assert warcio_types[0] == "warcinfo"
        assert set(warcio_types[1:]) == {"metadata"}
        assert fast_count == len(warcio_types)


def test_img_links_resolve_to_the_catalogue(small_world, small_world_dir):
    catalog = small_world.catalog
    image_urls = {image.url(FIXED_BASE_URLS) for image in catalog.images}
    resolved, data_uris, pages = [], 0, 0
    for path in wat_paths(small_world_dir):
        for page_url, html in html_payloads(path):
            pages += 1
            base = html["Head"].get("Base", page_url)
            for link in html["Links"]:
                if link["path"] != "IMG@/src":
                    continue
                assert "alt" in link
                if link["url"].startswith("data:"):
                    data_uris += 1
                    continue
                resolved.append(urljoin(base, link["url"]))
    assert pages == len(catalog.pages)
    assert set(resolved) <= image_urls
    expected = sum(1 for page in catalog.pages for item in page.images if item.image_id is not None)
    assert len(resolved) == expected and data_uris > 0


def test_links_use_every_src_form(small_world):
    catalog = small_world.catalog
    srcs = [catalog.src(p, item, FIXED_BASE_URLS) for p in catalog.pages for item in p.images]
    assert any(s.startswith("../") for s in srcs)
    assert any(s.startswith("//") for s in srcs)
    assert any(s.startswith("http://") for s in srcs)
    assert any(s.startswith("/img/") or s.startswith("/f/") for s in srcs)
    assert any(s[0].isdigit() for s in srcs)  # relative to <base href>


def test_wat_paths_list_matches_files(small_world_dir):
    listed = gzip.decompress(small_world_dir.wat_paths.read_bytes()).decode().split()
    assert sorted(small_world_dir.root / "wat" / p for p in listed) == wat_paths(small_world_dir)


def test_damaged_wat_keeps_good_records_readable(tmp_path, small_world):
    """A broken JSON payload, a payload without an envelope, and a cut last gzip member: a WARC
    reader still walks the file, and only those records fail to give an envelope."""
    paths = write_wat_files(small_world.catalog, FIXED_BASE_URLS, tmp_path, files=1, damaged=True)
    with paths[0].open("rb") as handle:
        records = [(record.rec_type, record.content_stream().read()) for record in ArchiveIterator(handle)]
    unparseable, no_envelope, good = 0, 0, 0
    for rec_type, body in records[1:]:
        assert rec_type == "metadata"
        try:
            payload = json.loads(body)
        except json.JSONDecodeError:
            unparseable += 1
            continue
        if "Envelope" in payload:
            good += 1
        else:
            no_envelope += 1
    assert (unparseable, no_envelope) == (2, 1)
    assert good == 1 + 3 * len(small_world.catalog.pages) - 1  # robots.txt + pages, less the cut one
