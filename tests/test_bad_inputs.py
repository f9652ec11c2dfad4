"""Some inputs a stage cannot use among good ones: counted in stats.json, and the stage goes on
(``test_bad_input_matrix.py`` has the cases where none can be used)."""

from __future__ import annotations

import json

from wit_builder.cli import main
from wit_builder.schemas import table_from_rows, write_table


def _balanced_file(path, count: int = 3) -> None:
    rows = [
        {
            "uid": f"u{i}",
            "url": f"http://127.0.0.1:9/{i}.jpg",
            "text": "a red circle",
            "page_url": None,
            "source": "mine",
            "matches": ["red circle"],
        }
        for i in range(count)
    ]
    write_table(table_from_rows(rows, "balanced"), str(path), "balanced")


def test_download_skips_and_counts_the_unreadable_files_among_good_ones(tmp_path, capsys):
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    _balanced_file(pairs / "part-00000.parquet")
    (pairs / "part-00001.parquet").write_bytes(b"PAR1 cut short")
    # Port 9 is refused before any fetch: nothing is kept, and the stage fails saying so, in one line.
    assert main(["download", "--pairs", f"{pairs}/*.parquet", "--out", str(tmp_path / "o")]) == 1
    assert "0 of 3 images kept: 3 blocked_url" in capsys.readouterr().err
    stats = json.loads((tmp_path / "o" / "stats.json").read_text())
    assert stats["pairs_in"] == 3 and stats["adds_up"] and stats["statuses"] == {"blocked_url": 3}
    assert [f["path"] for f in stats["unreadable_files"]] == [str(pairs / "part-00001.parquet")]


def test_balance_skips_and_counts_the_unreadable_files_among_good_ones(tmp_path, capsys):
    harvest = tmp_path / "harvest" / "candidates"
    harvest.mkdir(parents=True)
    rows = [
        {
            "uid": f"u{i}",
            "url": f"http://x.test/{i}.jpg",
            "text": "a red circle",
            "page_url": None,
            "source": "mine",
            "matches": ["red circle"],
        }
        for i in range(4)
    ]
    write_table(table_from_rows(rows, "candidates"), str(harvest / "part-00000.parquet"), "candidates")
    (harvest / "part-00001.parquet").write_bytes(b"PAR1 cut short")
    assert main(["balance", "--candidates", str(tmp_path / "harvest"), "--out", str(tmp_path / "o")]) == 0
    stats = json.loads((tmp_path / "o" / "stats.json").read_text())
    assert stats["pairs_in"] == 4 and stats["kept"] == 4 and stats["files_read"] == 1
    assert [f["path"] for f in stats["unreadable_files"]] == [str(harvest / "part-00001.parquet")]
    assert "WARNING skipped (in stats.json)" in capsys.readouterr().err
