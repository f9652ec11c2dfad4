"""The queries stage over dumps of several wikis at once: each dump's language from its
<siteinfo>, each language's list by its own rules (Meta CLIP 2's shares), pageviews per
project, multilingual WordNet from LMF, Chinese counted in words, and the English list the
same as an English-only run's."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from wit_builder.cli import main
from wit_builder.queries.languages import dump_language, join_words
from wit_builder.queries.wordnet_lmf import read_lmf_lemmas, wiki_language
from wit_builder.synthetic.languages import LANGUAGES, write_world_wikis
from wit_builder.synthetic.wikidump import header_xml


def run_queries(out, dumps, *extra):
    argv = ["queries", *(a for d in dumps for a in ("--wiki-dump", str(d))), "--out", str(out), *extra]
    assert main(argv) == 0
    rows = pq.read_table(out / "queries.parquet").to_pylist()
    return rows, json.loads((out / "stats.json").read_text())


@pytest.fixture(scope="module")
def world(tmp_path_factory, small_world_dir):
    root = tmp_path_factory.mktemp("worldwide")
    dumps, pageviews, lmf = write_world_wikis(root, articles=60)
    english = sorted(Path(small_world_dir.root, "wiki").glob("*.bz2"))
    # A German dump under an English file name: the language comes from <siteinfo>, not the name.
    renamed = dumps[0].with_name("enwiki-20260101-pages-articles9.xml-p1p60.bz2")
    shutil.move(dumps[0], renamed)
    return {"dumps": [renamed, *dumps[1:]], "english": english, "pageviews": pageviews, "lmf": lmf}


@pytest.fixture(scope="module")
def mixed(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("mixed")
    extra = ["--pageviews", str(world["pageviews"]), "--wordnet-lmf", str(world["lmf"]), "--min-bigram-pmi", "3"]
    return run_queries(out, [*world["english"], *world["dumps"]], *extra)


def by_language(rows):
    out = {}
    for row in rows:
        out.setdefault(row["lang"], {})[row["query"]] = row
    return out


def test_each_dump_is_read_in_its_own_language(mixed):
    rows, stats = mixed
    assert set(by_language(rows)) == {"en", "de", "ru", "he", "zh"}
    languages = set(stats["inputs"]["dump_languages"].values())
    assert languages == {"en", "de", "ru", "he", "zh"}
    renamed = next(p for p in stats["inputs"]["dump_languages"] if "articles9" in p)
    assert stats["inputs"]["dump_languages"][renamed] == "de"
    for lang in ("de", "ru", "he", "zh"):
        assert stats["languages"][lang]["tokens"] > 1000
        assert stats["languages"][lang]["rule"] == "shares"
    assert stats["languages"]["en"]["rule"] == "thresholds"


def test_ranked_languages_take_meta_clip_2s_shares(mixed):
    rows, stats = mixed
    lists = by_language(rows)
    for lang in ("de", "ru", "he", "zh"):
        info = stats["languages"][lang]
        words = info["distinct_words"]
        assert info["quotas"]["unigram"] == math.floor(words * 0.10)
        assert info["quotas"]["bigram"] == math.floor(info["quotas"]["unigram"] * 0.40)
        unigrams = [r for r in lists[lang].values() if r["source"] == "unigram" and not r["query"].isdigit()]
        assert 0 < len(unigrams) <= info["quotas"]["unigram"]
        assert all(str(n) in lists[lang] for n in range(100))  # the numbers are in every language


def test_a_ranked_languages_unigrams_are_its_most_frequent_words(world, tmp_path):
    german = world["dumps"][:1]
    every, _ = run_queries(tmp_path / "every", german, "--unigram-share", "1", "--max-unigrams", "100000")
    kept, stats = run_queries(tmp_path / "kept", german)
    counts = {r["query"]: r["score"] for r in every if r["source"] == "unigram" and not r["query"].isdigit()}
    quota = stats["languages"]["de"]["quotas"]["unigram"]
    assert len(counts) == stats["languages"]["de"]["distinct_words"] and quota == len(counts) // 10
    best = sorted(counts, key=lambda word: (-counts[word], word))[:quota]
    assert sorted(r["query"] for r in kept if r["source"] == "unigram" and not r["query"].isdigit()) == sorted(best)


def test_titles_per_project_and_wordnet_lemmas_per_lexicon(mixed):
    rows, stats = mixed
    lists = by_language(rows)
    assert lists["de"]["Kölner Dom"]["source"] == "title" and lists["de"]["Kölner Dom"]["score"] == 120
    assert lists["ru"]["Красная площадь"]["source"] == "title"
    # 120 and 60 views count (hourly >= 50), 40 and 30 do not: 2 titles, of which 76% is 1.
    assert stats["languages"]["de"]["titles_with_views"] == 2 and stats["languages"]["de"]["quotas"]["title"] == 1
    assert lists["de"].get("Schwarzwälder Kirschtorte", {}).get("source") != "title"
    for lang in ("de", "ru", "he", "zh"):  # the LMF lexicons, Chinese given as cmn-Hans
        for lemma in LANGUAGES[lang].lemmas:
            assert lists[lang][lemma]["source"] == "wordnet", (lang, lemma)
    assert "Hund" not in lists["en"]


def test_chinese_is_counted_in_words(mixed):
    rows, _ = mixed
    chinese = by_language(rows)["zh"]
    title = chinese["北京天安门"]  # a title, and a bigram (its words bind), which comes first
    assert title["source"] in ("bigram", "title") and title["occurrences"] >= 60 // 4  # prose without spaces
    assert all(" " not in query for query in chinese)  # bigrams are written as Chinese writes them


def test_the_english_list_is_the_english_only_runs(world, mixed, tmp_path):
    alone, _ = run_queries(tmp_path / "alone", world["english"], "--min-bigram-pmi", "3")
    english = sorted((r["query"], r["source"], r["score"], r["occurrences"]) for r in mixed[0] if r["lang"] == "en")
    assert english == sorted((r["query"], r["source"], r["score"], r["occurrences"]) for r in alone)
    assert "lang" not in pq.read_schema(tmp_path / "alone" / "queries.parquet").names  # as written before languages


def test_long_entries_are_dropped(world, tmp_path):
    rows, _ = run_queries(tmp_path / "short", world["dumps"], "--max-query-chars", "3")
    assert rows and all(len(r["query"]) <= 3 for r in rows)


def test_a_dump_naming_no_language_is_read_as_the_default_and_counted(tmp_path):
    head = header_xml("fr").replace('xml:lang="fr"', "").replace("<dbname>frwiki</dbname>", "")
    assert dump_language(head) is None
    assert dump_language(header_xml("zh-yue")) == "zh-yue"
    assert dump_language('<mediawiki xml:lang="pt">') == "pt"
    dump = tmp_path / "nolang.xml"
    page = "  <page>\n    <title>A</title>\n    <ns>0</ns>\n    <id>1</id>\n    <revision><id>2</id>"
    page += '<text xml:space="preserve">bonjour le monde</text></revision>\n  </page>\n'
    dump.write_text(head + page + "</mediawiki>\n")
    rows, stats = run_queries(tmp_path / "q", [dump], "--default-language", "fr", "--min-unigram-count", "1")
    assert stats["inputs"]["dumps_language_assumed"] == [str(dump)]
    assert {r["lang"] for r in rows} == {"fr"}


def test_lmf_reader_maps_iso_639_3_codes_and_reports_broken_xml(tmp_path):
    assert wiki_language("cmn-Hans") == "zh" and wiki_language("fr") == "fr" and wiki_language("nob") == "no"
    broken = tmp_path / "broken.xml"
    broken.write_text('<LexicalResource><Lexicon language="de"><LexicalEntry><Lemma writtenForm="Hund"/>'
                      "</LexicalEntry><LexicalEntry><Lemma writtenForm=")  # fmt: skip
    found = list(read_lmf_lemmas(str(broken)))
    assert found[0] == ("de", "Hund") and "not well-formed" in found[-1].reason


def test_bigrams_join_as_their_language_writes():
    assert join_words("北京", "天安门") == "北京天安门"
    assert join_words("Kölner", "Dom") == "Kölner Dom"
    assert join_words("2024", "年") == "2024 年"
