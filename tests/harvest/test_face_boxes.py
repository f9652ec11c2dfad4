"""Face boxes given with URL lists: read from Parquet, JSONL and CSV alike, carried through
harvest's dedupe to the candidates, and the unusable ones counted."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.harvest.test_pipeline import world  # noqa: F401 (fixture)
from wit_builder.cli import main
from wit_builder.harvest.face_boxes import merge_face_boxes, parse_face_boxes
from wit_builder.harvest.sources import read_pair_list
from wit_builder.schemas import read_table

BOX = [0.1, 0.2, 0.3, 0.4]


def test_boxes_are_read_alike_from_every_list_format(tmp_path):
    pq.write_table(
        pa.table({"url": ["http://a.example/1.jpg"], "caption": ["c"], "face_bboxes": [[BOX]]}), tmp_path / "l.parquet"
    )
    (tmp_path / "l.jsonl").write_text(
        json.dumps({"url": "http://a.example/1.jpg", "caption": "c", "face_bboxes": [BOX]})
    )
    (tmp_path / "l.csv").write_text(f'url,caption,face_bboxes\nhttp://a.example/1.jpg,c,"{json.dumps([BOX])}"\n')
    for name in ("l.parquet", "l.jsonl", "l.csv"):
        (pair,) = list(read_pair_list(str(tmp_path / name)))
        assert parse_face_boxes(pair.face_bboxes) == ([BOX], 0), name


def test_unusable_boxes_are_dropped_and_counted():
    assert parse_face_boxes(None) == (None, 0) and parse_face_boxes("") == (None, 0)
    assert parse_face_boxes([BOX, [1, 2, 3], ["a", 0, 1, 1], [0, 0, float("nan"), 1]]) == ([BOX], 3)
    assert parse_face_boxes("not json") == (None, 1) and parse_face_boxes(7) == (None, 1)
    assert merge_face_boxes(None, [BOX]) == [BOX] == merge_face_boxes([BOX], None)
    assert merge_face_boxes([BOX], [BOX, BOX]) == [BOX, BOX] == merge_face_boxes([BOX, BOX], [BOX])


def test_harvest_carries_boxes_to_the_candidates(world, tmp_path):  # noqa: F811
    layout, queries = world
    rows = pq.read_table(layout.pairs_dir / "datacomp.parquet").slice(0, 40).to_pylist()
    boxes = [[BOX] if k % 2 == 0 else None for k in range(len(rows))]
    table = pa.table({"url": [r["url"] for r in rows], "text": [r["text"] for r in rows],
                      "face_bboxes": pa.array(boxes, pa.list_(pa.list_(pa.float64())))})  # fmt: skip
    lists = tmp_path / "lists"
    lists.mkdir()
    pq.write_table(table, lists / "faces.parquet")
    (lists / "bad.jsonl").write_text(
        json.dumps({"url": "http://x.example/a.jpg", "text": rows[0]["text"], "face_bboxes": [[0, 0, "x", 1]]}) + "\n"
    )  # unusable: counted
    out = tmp_path / "out"
    argv = ["harvest", "--queries", str(queries), "--pairs", str(lists / "*"), "--out", str(out)]
    assert main(argv) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["face_boxes_unusable"] == 1 and stats["adds_up"]
    candidates = {row["url"]: row for part in sorted((out / "candidates").glob("*.parquet"))
                  for row in read_table(str(part), "candidates").to_pylist()}  # fmt: skip
    carried = [url for url, row in candidates.items() if row["face_bboxes"]]
    expected = {r["url"] for r, b in zip(rows, boxes, strict=True) if b == [BOX]} & set(candidates)
    assert carried and set(carried) == expected
    assert all(candidates[url]["face_bboxes"] == [BOX] for url in carried)


@pytest.mark.parametrize("value", [[[0.1, 0.1, 0.2, 0.2]], "[[0.1, 0.1, 0.2, 0.2]]"])
def test_boxes_as_json_text_or_lists_read_the_same(value):
    assert parse_face_boxes(value) == ([[0.1, 0.1, 0.2, 0.2]], 0)
