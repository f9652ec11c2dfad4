"""WAT files and URL lists read into raw pairs; every unreadable thing gets a reason."""

from __future__ import annotations

import gzip
from collections import Counter

from tests.conftest import FIXED_BASE_URLS
from wit_builder.harvest.normalise import normalise_url, resolve_url
from wit_builder.harvest.sources import PRESETS, RawPair, Rejected, read_pair_list, read_wat, wat_paths_listing
from wit_builder.synthetic.pair_lists import pair_rows
from wit_builder.synthetic.wat import write_wat_files


def split(items):
    pairs = [i for i in items if isinstance(i, RawPair)]
    reasons = Counter(i.reason for i in items if isinstance(i, Rejected))
    return pairs, reasons


def test_wat_links_resolve_to_the_catalogue(small_world, small_world_dir):
    files = wat_paths_listing(str(small_world_dir.wat_paths))
    items = [item for path in files for item in read_wat(path)]
    pairs, reasons = split(items)
    catalog = small_world.catalog
    assert len(pairs) == sum(len(page.images) for page in catalog.pages)
    assert set(reasons) == {"wat_not_html"}  # request, metadata and robots.txt records
    urls = {normalise_url(resolve_url(p.url, p.page_url, p.base_href)) for p in pairs}
    urls.discard(None)  # the data: placeholders
    assert urls == {
        image.url(FIXED_BASE_URLS)
        for page in catalog.pages
        for item in page.images
        if item.image_id is not None
        for image in [catalog.images[item.image_id]]
    }
    assert all(p.page_url.startswith("http://127.0.0.") and p.source.endswith(".warc.wat.gz") for p in pairs)


def test_damaged_wat_reports_and_keeps_the_rest(tmp_path, small_world):
    (path,) = write_wat_files(small_world.catalog, FIXED_BASE_URLS, tmp_path, files=1, damaged=True)
    pairs, reasons = split(list(read_wat(str(path))))
    assert reasons["wat_bad_json"] == 2  # the cut-off payload and the truncated last member
    assert reasons["wat_no_envelope"] == 1
    # The cut member is the last page's own metadata record (it carries no links), so every
    # image link of every page is still read.
    assert len(pairs) == sum(len(page.images) for page in small_world.catalog.pages)


def test_unreadable_files_are_reported(tmp_path):
    garbage = tmp_path / "x.warc.wat.gz"
    garbage.write_bytes(gzip.compress(b"not a warc file at all"))
    (rejected,) = read_wat(str(garbage))
    assert rejected.reason == "unreadable_file"
    (missing,) = read_wat(str(tmp_path / "missing.warc.wat.gz"))
    assert missing.reason == "unreadable_file" and "missing" in missing.detail


def test_every_list_layout(small_world, small_world_dir):
    for name, layout in [
        ("cc3m.tsv", PRESETS["cc3m"]),
        ("cc12m.tsv", PRESETS["cc12m"]),
        ("cc3m.tsv", None),
        ("cc12m.tsv", None),
        ("laion.parquet", None),
        ("datacomp.parquet", None),
        ("pairs.jsonl", None),
    ]:
        pairs, reasons = split(list(read_pair_list(str(small_world_dir.pairs_dir / name), layout)))
        expected = pair_rows(small_world.catalog, FIXED_BASE_URLS, name)
        assert not reasons, (name, reasons)
        got = [(p.url, p.text) for p in pairs]
        if name.endswith(".tsv"):  # TSV cells cannot hold newlines or tabs
            expected = [(u, c.replace("\t", " ").replace("\n", " ")) for u, c in expected]
        assert got == expected, name


def test_malformed_rows(tmp_path):
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"url": "http://h/a.jpg", "caption": "a red circle"}\nnot json\n[1]\n{"caption": "no url"}\n')
    pairs, reasons = split(list(read_pair_list(str(jsonl))))
    assert len(pairs) == 1 and reasons == {"list_row_malformed": 2, "list_row_without_url": 1}
    tsv = tmp_path / "p.tsv"
    tsv.write_text("url\tcaption\nhttp://h/a.jpg\ta red circle\nonly-one-field\n")
    pairs, reasons = split(list(read_pair_list(str(tsv))))
    assert len(pairs) == 1 and reasons == {"list_row_malformed": 1}
    unknown = tmp_path / "p.xyz"
    unknown.write_text("?")
    (rejected,) = read_pair_list(str(unknown))
    assert rejected.reason == "unreadable_file"
