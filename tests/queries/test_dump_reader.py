"""Pages stream out of every dump layout; malformed pages are counted and skipped, never fatal."""

from __future__ import annotations

import bz2
from pathlib import Path

import fsspec
import pytest

from wit_builder.queries.dump_reader import (
    DumpError,
    MalformedPage,
    Page,
    dump_files,
    plan_slices,
    read_pages,
    read_slice,
)
from wit_builder.synthetic.wikidump import write_wiki_dump


def pages_of(paths, streams_per_range=50):
    out = []
    for path in paths:
        for dump_slice in plan_slices(path, streams_per_range):
            out.extend(read_slice(dump_slice))
    return out


@pytest.mark.parametrize("compression", ["none", "bz2", "multistream"])
def test_every_layout_gives_every_page(tmp_path, small_world, compression):
    write_wiki_dump(small_world.wiki_pages, tmp_path, files=2, compression=compression)
    paths = dump_files([str(tmp_path / "*")])
    assert len(paths) == 2 and not any("index" in p for p in paths)
    pages = pages_of(paths)
    expected = small_world.wiki_pages
    assert [(p.title, p.namespace, p.redirect, p.text) for p in pages] == [
        (e.title, e.namespace, e.redirect_to is not None, e.text) for e in expected
    ]


def test_multistream_splits_into_ranges_that_cover_the_file(tmp_path, small_world):
    write_wiki_dump(small_world.wiki_pages, tmp_path, files=1, compression="multistream")
    (path,) = dump_files([str(tmp_path / "*")])
    slices = plan_slices(path, streams_per_range=1)
    assert len(slices) == -(-len(small_world.wiki_pages) // 100)
    assert slices[0].start > 0 and slices[-1].end is None
    assert [p.title for p in pages_of([path], streams_per_range=1)] == [p.title for p in small_world.wiki_pages]


def test_malformed_pages_are_reported_and_the_rest_kept(tmp_path, small_world):
    write_wiki_dump(small_world.wiki_pages, tmp_path, files=1, compression="bz2", broken_every=25)
    pages = pages_of(dump_files([str(tmp_path / "*.bz2")]))
    malformed = [p for p in pages if isinstance(p, MalformedPage)]
    good = [p for p in pages if isinstance(p, Page)]
    assert len(malformed) == len(small_world.wiki_pages) // 25
    assert [p.title for p in good] == [p.title for p in small_world.wiki_pages]
    assert all("XML" in m.reason for m in malformed)


def test_unterminated_and_incomplete_pages():
    lines = [
        "<mediawiki>\n",
        "  <page>\n", "    <title>No namespace</title>\n", "    <revision><text>x</text></revision>\n", "  </page>\n",
        "  <page>\n", "    <title>Cut</title>\n",
        "  <page>\n", "    <title>Fine</title>\n", "    <ns>0</ns>\n", "    <revision><text>ok</text></revision>\n",
        "  </page>\n",
        "  <page>\n", "    <title>At the end</title>\n",
    ]  # fmt: skip
    results = list(read_pages(lines))
    assert [type(r).__name__ for r in results] == ["MalformedPage", "MalformedPage", "Page", "MalformedPage"]
    assert results[2] == Page("Fine", 0, False, "ok")
    assert "ended" in results[3].reason and "began" in results[1].reason


def test_reads_through_fsspec_urls(tmp_path, small_world):
    """A dump in another filesystem (here fsspec's in-memory one) reads like a local file."""
    (local,) = write_wiki_dump(small_world.wiki_pages[:30], tmp_path, files=1, compression="bz2")
    url = f"memory://dumps/{local.name}"
    with fsspec.open(url, "wb") as handle:
        handle.write(local.read_bytes())
    try:
        (found,) = dump_files(["memory://dumps/*.bz2"])
        assert found.startswith("memory://") and found.endswith(local.name)
        assert [p.title for p in pages_of([found])] == [p.title for p in small_world.wiki_pages[:30]]
    finally:
        fsspec.filesystem("memory").rm("/dumps", recursive=True)


def test_a_pattern_matching_nothing_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file matches"):
        dump_files([str(tmp_path / "nothing-*.bz2")])


def test_a_multistream_file_without_its_index_reads_every_stream(tmp_path, small_world):
    write_wiki_dump(small_world.wiki_pages, tmp_path, files=1, compression="multistream")
    for index in tmp_path.glob("*index*"):
        index.unlink()
    (path,) = dump_files([str(tmp_path / "*")])
    assert [(s.start, s.end) for s in plan_slices(path)] == [(None, None)]  # one work item, the whole file
    assert [p.title for p in pages_of([path])] == [p.title for p in small_world.wiki_pages]


def test_a_bz2_cut_mid_stream_gives_the_pages_before_the_cut_then_an_error(tmp_path, small_world):
    write_wiki_dump(small_world.wiki_pages, tmp_path, files=1, compression="multistream")
    for index in tmp_path.glob("*index*"):
        index.unlink()
    (path,) = dump_files([str(tmp_path / "*")])
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])
    *pages, error = pages_of([path])
    assert isinstance(error, DumpError) and "EOFError" in error.error
    titles = [p.title for p in small_world.wiki_pages]
    assert 0 < len(pages) < len(titles) and [p.title for p in pages] == titles[: len(pages)]


def test_crlf_line_ends_read_as_the_same_pages(tmp_path, small_world):
    """Text mode turned CRLF into LF; the bz2 reader splits at LF and the XML parser does the rest."""
    write_wiki_dump(small_world.wiki_pages, tmp_path / "lf", files=1, compression="none")
    (plain,) = dump_files([str(tmp_path / "lf" / "*")])
    crlf = tmp_path / "crlf" / "enwiki-crlf.xml.bz2"
    crlf.parent.mkdir()
    crlf.write_bytes(bz2.compress(Path(plain).read_bytes().replace(b"\n", b"\r\n")))
    assert [(p.title, p.text) for p in pages_of([str(crlf)])] == [(p.title, p.text) for p in pages_of([plain])]
