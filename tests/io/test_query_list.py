"""Later stages read the query list from a folder, its parquet file, or a plain text list."""

from __future__ import annotations

from wit_builder.io.query_list import load_queries, load_query_sources
from wit_builder.schemas import table_from_rows, write_table


def test_folder_parquet_and_text(tmp_path):
    rows = [{"query": "red", "source": "unigram", "score": 1.0, "occurrences": 3},
            {"query": "red circle", "source": "bigram", "score": 9.0, "occurrences": 2}]  # fmt: skip
    (tmp_path / "queries").mkdir()
    write_table(table_from_rows(rows, "queries"), str(tmp_path / "queries" / "queries.parquet"), "queries")
    expected = [("red", "unigram"), ("red circle", "bigram")]
    assert load_query_sources(str(tmp_path / "queries")) == expected
    assert load_query_sources(str(tmp_path / "queries" / "queries.parquet")) == expected
    (tmp_path / "list.txt").write_text("red\n\nC++\n", encoding="utf-8")
    assert load_query_sources(str(tmp_path / "list.txt")) == [("red", None), ("C++", None)]
    assert load_queries(str(tmp_path / "list.txt")) == ["red", "C++"]
