"""The dump parses with a real MediaWiki dump parser, in every layout, and its text is Zipfian."""

from __future__ import annotations

import bz2
import collections
import re
from pathlib import Path
from xml.etree import ElementTree

import mwxml
import numpy as np
import pytest

from wit_builder.synthetic import SyntheticWorld, WorldConfig
from wit_builder.synthetic.wikidump import write_wiki_dump


def open_dump(path: Path):
    return bz2.open(path) if path.suffix == ".bz2" else path.open("rb")


def parse_all(paths):
    pages = []
    for path in paths:
        dump = mwxml.Dump.from_file(open_dump(path))
        assert dump.site_info.dbname == "enwiki"
        for page in dump:
            revisions = list(page)
            pages.append((page, revisions[0].text))
    return pages


@pytest.mark.parametrize("compression", ["none", "bz2", "multistream"])
def test_dump_parses_with_mwxml(tmp_path, small_world, compression):
    files = write_wiki_dump(small_world.wiki_pages, tmp_path, files=2, compression=compression)
    assert len(files) == 2
    parsed = parse_all(files)
    expected = small_world.wiki_pages
    assert [p.id for p, _ in parsed] == [p.page_id for p in expected]
    assert [p.title for p, _ in parsed] == [p.title for p in expected]
    assert [text for _, text in parsed] == [p.text for p in expected]
    redirects = {p.title: p.redirect for p, _ in parsed if p.redirect}
    assert redirects == {p.title: p.redirect_to for p in expected if p.redirect_to}
    assert {p.namespace for p, _ in parsed} >= {0, 1, 4, 14}


def test_multistream_index_points_at_stream_starts(tmp_path, small_world):
    files = write_wiki_dump(small_world.wiki_pages, tmp_path, files=1, compression="multistream")
    data = files[0].read_bytes()
    index = next(tmp_path.glob("*multistream-index*"))
    lines = bz2.decompress(index.read_bytes()).decode().splitlines()
    assert len(lines) == len(small_world.wiki_pages)
    for line in lines[::37]:
        offset, page_id, title = line.split(":", 2)
        stream = bz2.BZ2Decompressor().decompress(data[int(offset) :])
        assert f"<id>{page_id}</id>".encode() in stream
        assert f"<title>{title}</title>".encode().replace(b"&", b"&amp;") in stream


def test_wikitext_has_the_markup_a_parser_must_strip(small_world):
    text = "\n".join(p.text for p in small_world.wiki_pages if p.namespace == 0 and not p.redirect_to)
    for marker in ("{{Infobox", "<ref>", "{|", "[[File:", "[[Category:", "<!--", "]]", "'''", "== "):
        assert marker in text, marker


def test_markup_words_never_appear_in_prose(small_world):
    """Words reserved for markup occur only inside templates, refs, tables, files, categories, comments."""
    markup = set(small_world.vocabulary.markup_words)
    stripped_total = 0
    for page in small_world.wiki_pages:
        if page.namespace != 0 or page.redirect_to:
            continue
        prose = re.sub(r"\{\{.*?\}\}", " ", page.text, flags=re.S)  # templates (not nested here)
        prose = re.sub(r"<ref[^>]*/>|<ref>.*?</ref>|<!--.*?-->", " ", prose, flags=re.S)
        prose = re.sub(r"\{\|.*?\|\}", " ", prose, flags=re.S)
        prose = re.sub(r"\[\[(File|Category):[^\]]*\]\]", " ", prose)
        stripped_total += len(page.text) - len(prose)
        assert not markup & set(re.findall(r"[\w'-]+", prose)), page.title
    assert stripped_total > 0


def test_broken_pages_make_the_file_malformed_but_keep_the_rest(tmp_path, small_world):
    files = write_wiki_dump(small_world.wiki_pages, tmp_path, files=1, compression="none", broken_every=50)
    raw = files[0].read_text()
    assert raw.count("<title>Broken page") == len(small_world.wiki_pages) // 50
    with pytest.raises(ElementTree.ParseError):
        ElementTree.fromstring(raw)
    assert raw.count("<page>") == len(small_world.wiki_pages) + len(small_world.wiki_pages) // 50


def test_word_frequencies_follow_zipf():
    world = SyntheticWorld(WorldConfig.scaled(2))
    counts = collections.Counter()
    for page in world.wiki_pages:
        if page.namespace == 0 and not page.redirect_to:
            counts.update(re.findall(r"[a-z]+", page.text.lower()))
    frequencies = np.array(sorted(counts.values(), reverse=True), dtype=float)
    ranks = np.arange(1, len(frequencies) + 1)
    middle = slice(10, 1000)
    slope = np.polyfit(np.log(ranks[middle]), np.log(frequencies[middle]), 1)[0]
    assert -1.4 < slope < -0.7
    # Thresholds matter: the 100-occurrence rule keeps some words and rejects most.
    assert 50 < (frequencies >= 100).sum() < len(frequencies) / 4


def test_collocations_only_occur_together(small_world):
    text = " ".join(p.text for p in small_world.wiki_pages)
    for first, second in small_world.vocabulary.collocations[:10]:
        together = len(re.findall(rf"\b{first} {second}\b", text, re.I))
        assert together >= 3
        assert len(re.findall(rf"\b{first}\b", text, re.I)) == together
