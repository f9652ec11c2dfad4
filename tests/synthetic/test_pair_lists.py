"""URL + caption lists in the public layouts, with the junk real lists carry."""

from __future__ import annotations

import json

import pyarrow.parquet as pq


def test_each_layout(small_world_dir):
    pairs = small_world_dir.pairs_dir
    cc3m = [line.split("\t") for line in (pairs / "cc3m.tsv").read_text().splitlines()]
    cc12m = [line.split("\t") for line in (pairs / "cc12m.tsv").read_text().splitlines()]
    assert all(len(row) == 2 for row in cc3m + cc12m)
    assert any(row[1].startswith("http://127.0.0.") for row in cc3m)
    assert any(row[0].startswith("http://127.0.0.") for row in cc12m)
    assert pq.read_schema(pairs / "laion.parquet").names[:2] == ["URL", "TEXT"]
    assert pq.read_schema(pairs / "datacomp.parquet").names == ["uid", "url", "text"]
    rows = [json.loads(line) for line in (pairs / "pairs.jsonl").read_text().splitlines()]
    assert all(set(row) == {"url", "caption"} for row in rows)


def test_junk_rows_are_present(small_world_dir):
    rows = [json.loads(line) for line in (small_world_dir.pairs_dir / "pairs.jsonl").read_text().splitlines()]
    urls = [row["url"] for row in rows]
    assert any(u.startswith("data:") for u in urls) and any(u.startswith("ftp://") for u in urls)
    assert any(row["caption"] == "" for row in rows)
    assert any(len(row["caption"]) > 1000 for row in rows)
    assert any("&amp;" in row["caption"] for row in rows)
    assert len(urls) > len(set(urls)), "one URL listed twice with different captions"
