"""The WordNet folder is in the real 3.0 format: NLTK reads it and offsets are byte offsets."""

from __future__ import annotations

import warnings

import nltk
from nltk.corpus.reader.wordnet import WordNetCorpusReader


class LocalWordNet(WordNetCorpusReader):
    """NLTK's reader without the mapping to a downloaded WordNet (an offline machine has none)."""

    def map_wn(self, version="wordnet"):
        return None


def test_nltk_reads_the_database(small_world_dir):
    nltk.data.path.append(str(small_world_dir.root))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wordnet = LocalWordNet(str(small_world_dir.wordnet_dir), None)
    synsets = list(wordnet.all_synsets())
    assert len(synsets) == 400
    assert wordnet.get_version() == "3.0"
    assert {s.pos() for s in synsets} == {"n", "v", "a", "r"}
    circle = wordnet.synsets("circle", pos="n")[0]
    assert circle.hypernyms()[0].lemma_names() == ["entity"]
    assert any("_" in name for s in synsets for name in s.lemma_names())


def test_offsets_are_byte_offsets(small_world_dir):
    for pos in ("noun", "verb", "adj", "adv"):
        data = (small_world_dir.wordnet_dir / f"data.{pos}").read_bytes()
        for line in data.splitlines(keepends=True):
            if line.startswith(b"  "):
                continue
            offset = int(line[:8])
            assert data[offset : offset + 8] == line[:8]
        for line in (small_world_dir.wordnet_dir / f"index.{pos}").read_text().splitlines():
            if line.startswith("  "):
                continue
            fields = line.split()
            lemma, synset_count = fields[0], int(fields[2])
            for offset in fields[-synset_count:]:
                synset_line = data[int(offset) :].split(b"\n", 1)[0].decode()
                assert f" {lemma} " in synset_line.lower()
