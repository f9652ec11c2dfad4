"""The queries stage end to end on Beam: every threshold at its boundary, and the stats add up.

The hand-made dump is built so every boundary is exact: "alpha" occurs 100 times and "beta" 99;
the dump holds exactly N = 1024 bigrams, so a pair of words that only ever occur together once
has PMI log2(1024) = 10 and one that occurs together twice has PMI 9.
"""

from __future__ import annotations

import gzip
import json

import pyarrow.parquet as pq
import pytest

from wit_builder.cli import main
from wit_builder.schemas import read_table
from wit_builder.synthetic.wikidump import write_wiki_dump
from wit_builder.synthetic.wikipages import WikiPage

MARKUP = (
    "{{Infobox thing|secret=" + "tplword " * 100 + "}}visible.<ref>" + "refword " * 100 + "</ref>\n"
    "{|\n| " + "cellword " * 100 + "\n|}\n[[File:X.jpg|thumb|" + "capword " * 100 + "]]\n"
    "Seventy. Seventy.\n[[Category:Catword]]"
)
PAGES = [
    WikiPage(10, "Boundary words", 0, "alpha. " * 100 + "beta. " * 99),
    WikiPage(11, "Pairs", 0, "zig zag. tic tac. tic tac.\n" + "f " * 1022 + "."),
    WikiPage(12, "Markup", 0, MARKUP),
    WikiPage(13, "Old name", 0, "#REDIRECT [[Pairs]] " + "redirword " * 100, redirect_to="Pairs"),
    WikiPage(14, "Talk:Pairs", 1, "talkword " * 100),
]
HOURS = [
    ["en Seventy 70 0", "en Sixty_nine 69 0", "en Split_hours 40 0", "en Fifty_each 50 0", "en Once_fifty 50 0",
     "de Foreign 500 0", "en Talk:Foo 500 0", "en.m Mobile_only 500 0", "en broken_line", "en !!! 900 0"],
    ["en Split_hours 40 0", "en Fifty_each 50 0", "en Once_fifty 19 0"],
]  # fmt: skip
WORDNET = (
    "  1 header\n"
    "00000100 05 n 01 alpha 0 000 | overlaps a unigram  \n"
    "00000200 05 n 02 hot_dog 0 frank 0 000 | two words  \n"
    "00000300 18 n 01 Einstein 0 000 | head lemma lower-cased  \n"
)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    write_wiki_dump(PAGES[:2], root / "wiki", files=1, compression="bz2", broken_every=2)
    write_wiki_dump(PAGES[2:], root / "wiki2", files=1, compression="none")
    (root / "pageviews").mkdir()
    for hour, lines in enumerate(HOURS):
        (root / "pageviews" / f"pageviews-20260101-0{hour}0000.gz").write_bytes(
            gzip.compress(("\n".join(lines) + "\n").encode())
        )
    (root / "wordnet").mkdir()
    (root / "wordnet" / "data.noun").write_text(WORDNET)
    return root


def run_stage(sources, out, *extra):
    argv = [
        "queries",
        "--wiki-dump",
        str(sources / "wiki" / "*.bz2"),
        "--wiki-dump",
        str(sources / "wiki2" / "*"),
        "--pageviews",
        str(sources / "pageviews" / "*.gz"),
        "--wordnet",
        str(sources / "wordnet"),
        "--out",
        str(out),
        "--min-bigram-pmi",
        "10",
        *extra,
    ]
    assert main(argv) == 0
    table = pq.read_table(out / "queries.parquet").to_pylist()
    return {row["query"]: row for row in table}, json.loads((out / "stats.json").read_text())


@pytest.fixture(scope="module")
def result_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("out")


@pytest.fixture(scope="module")
def result(sources, result_dir):
    return run_stage(sources, result_dir)


def test_unigram_count_boundary(result):
    queries, _ = result
    assert "f" in queries and queries["f"]["source"] == "unigram" and queries["f"]["score"] == 1022
    assert "beta" not in queries  # 99 < 100
    assert queries["alpha"]["source"] == "wordnet"  # 100 >= 100, but WordNet comes first
    assert queries["alpha"]["occurrences"] == 100


def test_bigram_pmi_boundary(result):
    queries, stats = result
    assert stats["counts"]["bigrams"] == 1024
    assert queries["zig zag"]["score"] == 10.0 and queries["zig zag"]["occurrences"] == 1  # PMI 10 >= 10
    assert "tic tac" not in queries  # PMI 9 < 10
    assert "f f" not in queries


def test_title_views_boundaries(result):
    queries, stats = result
    assert queries["Seventy"]["source"] == "title" and queries["Seventy"]["score"] == 70
    assert queries["Seventy"]["occurrences"] == 2
    assert queries["Fifty each"]["score"] == 100  # two hourly values of exactly 50
    for left_out in ("Sixty nine", "Split hours", "Once fifty", "Foreign", "Talk:Foo", "Mobile only", "!!!"):
        assert left_out not in queries, left_out  # 69; 40+40 (hourly < 50); 50 (+19 not counted); ...
    assert stats["counts"]["pageview_lines_malformed"] == 1


def test_wordnet_names(result):
    queries, _ = result
    assert queries["hot dog"]["source"] == "wordnet" and queries["einstein"]["source"] == "wordnet"
    assert "frank" not in queries and "Einstein" not in queries


def test_markup_redirects_and_other_namespaces_give_no_tokens(result):
    queries, _ = result
    for word in ("tplword", "refword", "cellword", "capword", "Catword", "redirword", "talkword", "brokenword"):
        assert word not in queries


def test_numbers_always_in_and_stats_add_up(result):
    queries, stats = result
    assert all(str(n) in queries for n in range(100))
    counts = stats["counts"]
    assert counts["pages_read"] == 5
    assert (
        counts["articles"] + counts["redirects_skipped"] + counts["non_article_pages_skipped"] == counts["pages_read"]
    )
    assert counts["malformed_pages"] == 1  # the page before the second one of the bz2 file
    assert counts["tokens"] == 100 + 99 + 2 + 4 + 1022 + 1 + 2
    assert stats["overlap_removed"]["unigram"] == 1  # alpha
    assert stats["queries"] == len(queries) == sum(stats["queries_per_source"].values())
    assert_unseen_numbers_are_their_own_source(queries, stats)


def assert_unseen_numbers_are_their_own_source(queries, stats):
    """A number the dumps never showed is source ``number`` (never a unigram seen 0 times), and
    the stats say how many."""
    numbers = [queries[str(n)] for n in range(100)]
    unseen = [row for row in numbers if row["source"] == "number"]
    assert unseen and all(row["occurrences"] == 0 for row in unseen)
    assert all(row["source"] == "unigram" and row["occurrences"] > 0 for row in numbers if row["source"] != "number")
    assert stats["numbers_added_unseen"] == len(unseen) == stats["queries_per_source"]["number"]


def test_outputs_are_sorted_and_schema_valid(result, result_dir):
    queries, _ = result
    out = result_dir
    table = read_table(str(out / "queries.parquet"), "queries")  # raises unless it fits the schema
    assert table.column("query").to_pylist() == sorted(queries)
    assert (out / "queries.txt").read_text().splitlines() == sorted(queries)


def test_target_size(sources, tmp_path):
    queries, stats = run_stage(sources, tmp_path, "--target-size", "110")
    assert len(queries) == 110
    assert all(str(n) in queries for n in range(100))
    assert stats["rules"]["target_size"] == 110
    assert_unseen_numbers_are_their_own_source(queries, stats)  # forced in, and still their own source


def test_shards_and_fanout_do_not_change_the_output(result, result_dir, sources, tmp_path_factory):
    out = result_dir
    other = tmp_path_factory.mktemp("other-shards")
    run_stage(sources, other, "--count-shards", "3", "--hot-key-fanout", "4")
    assert (other / "queries.parquet").read_bytes() == (out / "queries.parquet").read_bytes()
