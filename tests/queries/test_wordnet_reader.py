"""WordNet synset names read straight from the database files."""

from __future__ import annotations

import pathlib

import pytest

from wit_builder.queries.wordnet import read_lemmas, synset_lemmas

DEBIAN_WORDNET = pathlib.Path("/usr/share/wordnet")


def test_synset_lemmas_parse_the_data_line():
    line = "02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 001 @ 02083346 n 0000 | a member  \n"
    assert synset_lemmas(line) == ["dog", "domestic_dog", "Canis_familiaris"]
    assert synset_lemmas("00001740 00 a 01 beautiful(a) 0 000 | pleasing  \n") == ["beautiful"]


def test_names_and_all_lemmas(tmp_path):
    (tmp_path / "data.noun").write_text(
        "  1 header line\n"
        "00000100 05 n 02 hot_dog 0 frank 0 000 | a sausage  \n"
        "00000200 18 n 01 Einstein 0 000 | a physicist  \n"
    )
    assert list(read_lemmas(str(tmp_path))) == [("hot dog", "noun"), ("einstein", "noun")]
    everything = [q for q, _ in read_lemmas(str(tmp_path), all_lemmas=True)]
    assert everything == ["hot dog", "hot dog", "frank", "einstein", "Einstein"]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no WordNet data files"):
        list(read_lemmas(str(tmp_path)))


def test_synthetic_database(small_world_dir):
    names = [q for q, _ in read_lemmas(str(small_world_dir.wordnet_dir))]
    assert len(names) == 400 and "circle" in names and any(" " in n for n in names)


@pytest.mark.skipif(not (DEBIAN_WORDNET / "data.noun").exists(), reason="Debian's wordnet-base is not installed")
def test_the_real_wordnet_3_0():
    """Princeton WordNet 3.0 has 117,659 synsets; MetaCLIP reports ~86.7k WordNet queries."""
    names = [q for q, _ in read_lemmas(str(DEBIAN_WORDNET))]
    assert len(names) == 117_659
    distinct = set(names)
    assert len(distinct) == 86_571
    assert {"dog", "ice cream", "einstein"} <= distinct
