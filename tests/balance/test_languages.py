"""Balance per language (Meta CLIP 2): each language's t where its tail share equals English's,
pairs kept by their own language's probabilities, and the English-only path unchanged."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_builder.capping.languages import language_thresholds, match_keys, t_for_share, tail_share
from wit_builder.cli import main
from wit_builder.schemas import table_from_rows, write_table

# English at t = 200: "a" 1000 (head), "b" 100 and ten queries of 10 (tail): p = 200 / 1200.
ENGLISH = {"a": 1000, "b": 100, **{f"c{k}": 10 for k in range(10)}}
# German: "x" 5000, "y" 500, five queries of 100. Fewer than 501: 1000 / 6000 = p, so t_de = 501.
GERMAN = {"x": 5000, "y": 500, **{f"z{k}": 100 for k in range(5)}}


def histogram(counts):
    out = {}
    for n in counts.values():
        out[n] = out.get(n, 0) + 1
    return out


def test_each_language_gets_the_t_of_englishs_tail_share():
    p = tail_share(histogram(ENGLISH), 200)
    assert p == pytest.approx(200 / 1200)
    assert t_for_share(histogram(GERMAN), p) == 501
    caps = language_thresholds([("en", histogram(ENGLISH)), ("de", histogram(GERMAN))], 200)
    assert caps["en"]["t"] == 200 and caps["de"]["t"] == 501
    assert caps["de"]["tail_share"] == pytest.approx(p, abs=0.01) and "English" in caps["de"]["rule"]
    alone = language_thresholds([("de", histogram(GERMAN))], 200)
    assert alone["de"]["t"] == 200  # no English to follow


def test_match_keys_carry_the_language_where_there_is_one():
    table = pa.table({"matches": [["a", "b"], ["a"], []], "lang": ["de", None, "zh"]})
    assert match_keys(table).to_pylist() == [["de\ta", "de\tb"], ["a"], []]
    plain = pa.table({"matches": [["a"]], "lang": pa.array([None], pa.string())})
    assert match_keys(plain).to_pylist() == [["a"]]


@pytest.fixture(scope="module")
def balanced(tmp_path_factory):
    root = tmp_path_factory.mktemp("balance-world")
    rows = []
    for lang, counts in (("en", ENGLISH), ("de", GERMAN)):
        for query, n in counts.items():
            for k in range(n):
                uid = f"{lang}-{query}-{k}"
                rows.append({"uid": uid, "url": f"http://i.test/{uid}.jpg", "text": query, "page_url": None,
                             "source": "t", "matches": [query], "lang": lang})  # fmt: skip
    (root / "harvest" / "candidates").mkdir(parents=True)
    write_table(table_from_rows(rows, "candidates"), str(root / "harvest/candidates/part-00000.parquet"), "candidates")
    out = root / "balance"
    assert main(["balance", "--candidates", str(root / "harvest"), "--out", str(out), "--per-query", "200"]) == 0
    kept = pq.read_table(out / "balanced").to_pylist()
    report = pq.read_table(out / "report" / "balance.parquet").to_pylist()
    return kept, report, json.loads((out / "stats.json").read_text())


def test_pairs_are_kept_by_their_own_languages_t(balanced):
    kept, report, stats = balanced
    languages = stats["queries"]["languages"]
    assert languages["en"]["t"] == 200 and languages["de"]["t"] == 501
    row = {(r["lang"], r["query"]): r for r in report}
    assert row[("en", "a")]["p_keep"] == pytest.approx(0.2) and row[("de", "x")]["p_keep"] == pytest.approx(501 / 5000)
    assert row[("de", "y")]["p_keep"] == 1.0  # 500 matches: at the German t, all kept
    per = {}
    for r in kept:
        per[(r["lang"], r["matches"][0])] = per.get((r["lang"], r["matches"][0]), 0) + 1
    assert 150 < per[("en", "a")] < 250 and 420 < per[("de", "x")] < 580  # ~ t each
    assert per[("de", "y")] == 500 and per[("en", "b")] == 100
    assert stats["adds_up"] and all(r["lang"] in ("en", "de") for r in kept)
