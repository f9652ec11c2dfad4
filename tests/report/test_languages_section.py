"""The run report's "Languages" section, from a worldwide run's files: per language its list,
captions, t and why, head and tail, and samples; absent for an English-only run."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from wit_builder.report.languages_section import _shard_languages, languages_section

STATS = {
    "queries": {"languages": {"en": {"tokens": 1000, "rule": "thresholds", "queries": 120,
                                     "queries_per_source": {"unigram": 120}},
                              "zh": {"tokens": 500, "rule": "shares", "queries": 110,
                                     "queries_per_source": {"wordnet": 10, "unigram": 100}}}},
    "harvest": {"languages": {"en": {"identified": 90, "kept": 80}, "zh": {"identified": 12, "kept": 9}}},
    "balance": {"queries": {"languages": {
        "en": {"t": 50, "tail_share": 0.1, "rule": "--per-query (t_en)", "kept_matches": 300},
        "zh": {"t": 3, "tail_share": 0.12, "rule": "English's tail share 0.1000", "kept_matches": 20}}}},
}  # fmt: skip


def test_each_language_has_its_row_head_and_tail(tmp_path):
    (tmp_path / "balance" / "report").mkdir(parents=True)
    report = pa.table(
        {
            "query": ["猫", "狗", "鸟", "red"],
            "source": ["wordnet"] * 4,
            "matched": [9, 5, 1, 70],
            "kept": [4, 3, 1, 50],
            "p_keep": [3 / 9, 3 / 5, 1.0, 50 / 70],
            "lang": ["zh", "zh", "zh", "en"],
        }
    )
    pq.write_table(report, tmp_path / "balance" / "report" / "balance.parquet")
    (tmp_path / "shard").mkdir()
    index = pa.table({"key": ["0", "1", "2"], "lang": ["zh", "en", None]})
    pq.write_table(index, tmp_path / "shard" / "000000.parquet")
    html = languages_section(str(tmp_path), STATS)
    assert html and "English&#39;s tail share 0.1000" in html
    assert html.index(">en<") < html.index(">zh<")  # English first
    assert "t = 3" in html and "1 tail query " in html and ">猫<" in html  # 鸟 (1 < 3) is zh's tail
    assert _shard_languages(str(tmp_path)) == {"en": 2, "zh": 1}  # a null language is English


def test_an_english_only_run_has_no_section(tmp_path):
    only_english = {"queries": {"languages": {"en": {}}}, "harvest": {}, "balance": {}}
    assert languages_section(str(tmp_path), only_english) is None
