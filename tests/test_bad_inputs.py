"""Inputs a stage cannot use: one clear line and a non-zero exit when none can be read; counted in
stats.json, and the stage goes on, when only some cannot (issue 14 covers every stage)."""

from __future__ import annotations

import json

from wit_builder.cli import main
from wit_builder.schemas import table_from_rows, write_table


def _balanced_file(path, count: int = 3) -> None:
    rows = [{"uid": f"u{i}", "url": f"http://127.0.0.1:9/{i}.jpg", "text": "a red circle", "page_url": None,
             "source": "mine", "matches": ["red circle"]} for i in range(count)]  # fmt: skip
    write_table(table_from_rows(rows, "balanced"), str(path), "balanced")


def _queries_folder(tmp_path):
    """Another stage's output: a queries folder, whose Parquet has the queries schema."""
    queries = tmp_path / "queries"
    queries.mkdir()
    row = {"query": "q", "source": "unigram", "score": 1.0, "occurrences": 1}
    write_table(table_from_rows([row], "queries"), str(queries / "queries.parquet"), "queries")
    return queries


def test_download_of_a_file_that_is_not_parquet_is_one_line_and_exit_1(tmp_path, capsys):
    (tmp_path / "bad.parquet").write_text("not parquet")
    assert main(["download", "--pairs", str(tmp_path / "bad.parquet"), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "bad.parquet: ArrowInvalid" in err and "none of the 1 file(s) is a balanced-pairs file" in err
    assert "Traceback" not in err


def test_download_of_another_stages_folder_fails(tmp_path, capsys):
    queries = _queries_folder(tmp_path)
    assert main(["download", "--pairs", str(queries), "--out", str(tmp_path / "o")]) == 1
    assert "SchemaMismatch" in capsys.readouterr().err


def test_download_skips_and_counts_the_unreadable_files_among_good_ones(tmp_path, capsys):
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    _balanced_file(pairs / "part-00000.parquet")
    (pairs / "part-00001.parquet").write_bytes(b"PAR1 cut short")
    assert main(["download", "--pairs", f"{pairs}/*.parquet", "--out", str(tmp_path / "o")]) == 0
    stats = json.loads((tmp_path / "o" / "stats.json").read_text())
    assert (
        stats["pairs_in"] == 3 and stats["adds_up"] and stats["statuses"] == {"blocked_url": 3}
    )  # port 9: refused before any fetch
    assert [f["path"] for f in stats["unreadable_files"]] == [str(pairs / "part-00001.parquet")]
    assert "WARNING unreadable, skipped" in capsys.readouterr().err


def test_balance_of_another_stages_folder_or_an_empty_one_fails(tmp_path, capsys):
    queries = _queries_folder(tmp_path)
    assert main(["balance", "--candidates", str(queries), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert "none of the 1 file(s) could be read as harvest candidates" in err and "Traceback" not in err
    assert json.loads((tmp_path / "o" / "stats.json").read_text())["unreadable_files"]
    (tmp_path / "empty").mkdir()
    assert main(["balance", "--candidates", str(tmp_path / "empty"), "--out", str(tmp_path / "o2")]) == 1
    assert "no file matches" in capsys.readouterr().err
