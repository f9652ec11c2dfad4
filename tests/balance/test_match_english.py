"""``harvest --match-english`` then balance: an English query found in a German caption belongs
to English. It is counted under English's key, capped with English's t and given its source
in the English list; it is never a German entry that is "not in the list"."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from wit_builder.cli import main
from wit_builder.schemas import table_from_rows, write_table

QUERIES = [("lighthouse", "en", "wordnet"), ("harbour", "en", "unigram"), ("Leuchtturm", "de", "title")]
GERMAN = "Der alte Leuchtturm (auf Englisch lighthouse) steht seit hundert Jahren an der Küste, Bild {k}"
ENGLISH = "An old lighthouse stands on the rocky coast above the harbour, picture {k}"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("match-english")
    (root / "queries").mkdir()
    rows = [{"query": q, "source": s, "score": 1.0, "occurrences": 1, "lang": lang} for q, lang, s in QUERIES]
    write_table(table_from_rows(rows, "queries"), str(root / "queries" / "queries.parquet"), "queries")
    with (root / "pairs.jsonl").open("w") as handle:
        for k in range(30):
            handle.write(json.dumps({"url": f"http://img.test/de/{k}.jpg", "caption": GERMAN.format(k=k)}) + "\n")
        for k in range(10):
            handle.write(json.dumps({"url": f"http://img.test/en/{k}.jpg", "caption": ENGLISH.format(k=k)}) + "\n")
    queries = str(root / "queries")
    argv = ["harvest", "--queries", queries, "--pairs", str(root / "pairs.jsonl"), "--match-english"]
    assert main([*argv, "--out", str(root / "harvest")]) == 0
    argv = ["balance", "--candidates", str(root / "harvest"), "--queries", queries, "--per-query", "20"]
    assert main([*argv, "--out", str(root / "balance")]) == 0
    return root


def test_an_english_query_in_a_german_caption_is_englishs_entry(run):
    candidates = pq.read_table(run / "harvest" / "candidates").to_pylist()
    german = [row for row in candidates if "/de/" in row["url"]]
    assert len(german) == 30 and all(row["lang"] == "de" for row in german)
    assert all(row["matches"] == ["Leuchtturm", "en\tlighthouse"] for row in german)
    harvest = json.loads((run / "harvest" / "stats.json").read_text())
    assert harvest["kept_through_english"] == 30 and harvest["adds_up"]

    report = {
        (row.get("lang"), row["query"]): row
        for row in pq.read_table(run / "balance/report/balance.parquet").to_pylist()
    }
    assert ("de", "lighthouse") not in report
    lighthouse = report[("en", "lighthouse")]
    assert lighthouse["matched"] == 40 and lighthouse["source"] == "wordnet"  # 30 German captions + 10 English
    assert report[("de", "Leuchtturm")]["matched"] == 30 and report[("de", "Leuchtturm")]["source"] == "title"
    stats = json.loads((run / "balance" / "stats.json").read_text())
    assert stats["queries"]["not_in_list"] == 0
    t_en = stats["queries"]["languages"]["en"]["t"]
    assert t_en == 20 and lighthouse["p_keep"] == pytest.approx(20 / 40)  # English's t, not German's
