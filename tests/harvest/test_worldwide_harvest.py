"""Harvest with a worldwide query list: each caption's language identified, matched against
its own language's queries (Chinese through the segmenter), rows carrying ``lang``, texts of a
language without a list dropped and counted, and the counts adding up."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from wit_builder.cli import main
from wit_builder.schemas import table_from_rows, write_table

QUERIES = [
    ("dog", "en"), ("red", "en"), ("Hund", "de"), ("rot", "de"), ("Kölner Dom", "de"),
    ("天安门", "zh"), ("北京天安门", "zh"), ("猫", "zh"),
]  # fmt: skip
CAPTIONS = [
    ("A red dog runs on the beach in the evening", "en"),
    ("Ein roter Hund läuft am Strand entlang", "de"),  # "rot" is not "roter": word boundaries
    ("Der Kölner Dom am Abend, von der Brücke aus gesehen", "de"),
    ("我们在北京天安门广场拍了很多照片", "zh"),
    ("一只黑猫睡在窗台上晒太阳", "zh"),
    ("Собака бежит по пляжу вечером", "ru"),  # no Russian list
    ("Der Hund, the dog, schläft im Garten unter dem Baum", "de"),
]


@pytest.fixture(scope="module")
def harvested(tmp_path_factory):
    root = tmp_path_factory.mktemp("world-harvest")
    (root / "queries").mkdir()
    rows = [{"query": q, "source": "unigram", "score": 1.0, "occurrences": 1, "lang": lang} for q, lang in QUERIES]
    write_table(table_from_rows(rows, "queries"), str(root / "queries" / "queries.parquet"), "queries")
    with (root / "pairs.jsonl").open("w") as handle:
        for number, (caption, _) in enumerate(CAPTIONS):
            handle.write(json.dumps({"url": f"http://img.test/{number}.jpg", "caption": caption}) + "\n")
    return root


def run(root, out, *extra):
    argv = ["harvest", "--queries", str(root / "queries"), "--pairs", str(root / "pairs.jsonl"), "--out", str(out)]
    assert main([*argv, *extra]) == 0
    rows = [row for path in sorted(out.glob("candidates/*.parquet")) for row in pq.read_table(path).to_pylist()]
    return {row["url"].rsplit("/", 1)[1]: row for row in rows}, json.loads((out / "stats.json").read_text())


def test_each_caption_is_matched_against_its_languages_list(harvested, tmp_path):
    rows, stats = run(harvested, tmp_path / "out")
    assert rows["0.jpg"]["matches"] == ["dog", "red"] and rows["0.jpg"]["lang"] == "en"
    assert rows["1.jpg"]["matches"] == ["Hund"] and rows["1.jpg"]["lang"] == "de"
    assert rows["2.jpg"]["matches"] == ["Kölner Dom"]
    assert rows["3.jpg"]["matches"] == ["北京天安门", "天安门"] and rows["3.jpg"]["lang"] == "zh"
    assert rows["4.jpg"]["matches"] == ["猫"]
    assert rows["6.jpg"]["matches"] == ["Hund"]  # "dog" is English: not matched in a German text
    assert "5.jpg" not in rows
    assert stats["dropped"]["no_language_list"] == 1 and stats["adds_up"]
    assert stats["languages"]["ru"] == {"identified": 1, "kept": 0}
    assert stats["languages"]["de"] == {"identified": 3, "kept": 3}


def test_english_too_and_a_chosen_set_of_languages(harvested, tmp_path):
    rows, _ = run(harvested, tmp_path / "both", "--match-english")
    assert rows["6.jpg"]["matches"] == ["Hund", "en\tdog"]  # English's entry, found in a German caption
    rows, stats = run(harvested, tmp_path / "only", "--languages", "de")
    assert {row["lang"] for row in rows.values()} == {"de"}
    assert stats["dropped"]["no_language_list"] == 4 and stats["adds_up"]


def test_an_english_only_list_is_matched_without_identification(harvested, tmp_path):
    (tmp_path / "queries").mkdir()
    rows = [{"query": q, "source": "unigram", "score": 1.0, "occurrences": 1} for q, lang in QUERIES if lang == "en"]
    table = table_from_rows(rows, "queries").drop_columns(["lang"])
    write_table(table, str(tmp_path / "queries" / "queries.parquet"), "queries", without=("lang",))
    argv = ["harvest", "--queries", str(tmp_path / "queries"), "--pairs", str(harvested / "pairs.jsonl")]
    assert main([*argv, "--out", str(tmp_path / "en")]) == 0
    stats = json.loads((tmp_path / "en" / "stats.json").read_text())
    assert stats["kept"] == 2 and stats["languages"] == {}  # "dog" in captions 0 and 6, whatever their language
    for path in (tmp_path / "en" / "candidates").glob("*.parquet"):
        assert "lang" not in pq.read_schema(path).names
