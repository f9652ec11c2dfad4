"""The balance stage end to end on Beam, checked against the statistics of its sampling rule.

The pool is Zipf: 200,000 pairs over 20,000 queries, t = 200, so the cap binds on ~145 head
queries. Every query's kept count is a sum of independent Bernoulli variables (pair i, matched
by q, is kept with P_i = 1 − Π over its queries of (1 − p)), so its mean and variance are known
exactly and the tests hold each query, and the total, within 6 standard deviations.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter, defaultdict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_builder.capping.sampling import keep_probability
from wit_builder.capping.transforms import KeyCounts
from wit_builder.cli import main
from wit_builder.schemas import read_table
from wit_builder.synthetic.candidate_pool import write_zipf_pool

T = 200
Z = 6.0


def balance(harvest, out, *extra) -> dict:
    assert main(["balance", "--candidates", str(harvest), "--out", str(out), "--per-query", str(T), *extra]) == 0
    return json.loads((out / "stats.json").read_text())


def kept_rows(out) -> list[dict]:
    return [
        row
        for path in sorted((out / "balanced").glob("*.parquet"))
        for row in read_table(str(path), "balanced").to_pylist()
    ]


def file_bytes(out) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "balanced").glob("*.parquet"))} | {
        "balance.parquet": (out / "report" / "balance.parquet").read_bytes()
    }


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    return write_zipf_pool(tmp_path_factory.mktemp("pool"), pairs=200_000, queries=20_000, files=4, seed=1)


@pytest.fixture(scope="module")
def run(pool, tmp_path_factory):
    out = tmp_path_factory.mktemp("balance")
    return out, balance(pool, out)


@pytest.fixture(scope="module")
def expectation(pool):
    """Per query: matched n, and the mean and variance of its kept count; and for the total."""
    rows = [
        row
        for path in sorted((pool / "candidates").glob("*.parquet"))
        for row in read_table(str(path), "candidates").to_pylist()
    ]
    matched: dict[str, int] = defaultdict(int)
    for row in rows:
        for q in row["matches"]:
            matched[q] += 1
    mean: dict[str, float] = defaultdict(float)
    variance: dict[str, float] = defaultdict(float)
    total_mean = total_variance = 0.0
    for row in rows:
        kept = 1.0 - math.prod(1.0 - keep_probability(matched[q], T) for q in row["matches"])
        total_mean += kept
        total_variance += kept * (1 - kept)
        for q in row["matches"]:
            mean[q] += kept
            variance[q] += kept * (1 - kept)
    return matched, mean, variance, total_mean, total_variance, len(rows)


def test_counts_add_up(run):
    out, stats = run
    assert stats["pairs_in"] == 200_000 and stats["adds_up"]
    assert stats["pairs_in"] == stats["kept"] + stats["dropped"]["over_cap"] + stats["dropped"]["no_matches"]
    assert stats["kept"] == len(kept_rows(out)) and stats["unreadable_files"] == []


def test_report_matches_the_pool(run, expectation):
    out, stats = run
    matched = expectation[0]
    report = read_table(str(out / "report" / "balance.parquet"), "balance_report").to_pylist()
    by_query = {row["query"]: row for row in report}
    assert {q: row["matched"] for q, row in by_query.items() if row["matched"]} == matched
    kept_count: dict[str, int] = defaultdict(int)
    for row in kept_rows(out):
        for q in row["matches"]:
            kept_count[q] += 1
    assert {q: row["kept"] for q, row in by_query.items() if row["kept"]} == kept_count
    assert all(row["p_keep"] == keep_probability(row["matched"], T) for row in report)
    unmatched = [row for row in report if row["matched"] == 0]
    assert len(unmatched) == stats["queries"]["matched_nothing"] >= 100  # the pool lists 100 extra queries
    assert {row["source"] for row in report} == {"unigram", "bigram", "title", "wordnet"}


def test_queries_under_the_cap_keep_every_pair(run, expectation):
    out, _ = run
    matched = expectation[0]
    report = {
        row["query"]: row for row in read_table(str(out / "report" / "balance.parquet"), "balance_report").to_pylist()
    }
    small = [q for q, n in matched.items() if n <= T]
    assert len(small) > 15_000
    assert all(report[q]["kept"] == matched[q] for q in small)


def test_each_query_keeps_what_the_rule_predicts(run, expectation):
    out, _ = run
    matched, mean, variance, *_ = expectation
    report = {
        row["query"]: row for row in read_table(str(out / "report" / "balance.parquet"), "balance_report").to_pylist()
    }
    capped = [q for q, n in matched.items() if n > T]
    assert len(capped) > 100  # the cap binds
    for q in capped:
        sigma = math.sqrt(variance[q])
        assert abs(report[q]["kept"] - mean[q]) <= Z * sigma + 1, (q, report[q], mean[q], sigma)


def test_total_kept_is_the_expected_value(run, expectation):
    _, stats = run
    *_, total_mean, total_variance, pairs = expectation
    assert pairs == stats["pairs_in"]
    assert abs(stats["kept"] - total_mean) <= Z * math.sqrt(total_variance)


def test_one_match_per_pair_caps_each_query_near_t(tmp_path):
    """With one query per pair, a query's kept count is Binomial(n, t/n): at most t + z·√t."""
    harvest = write_zipf_pool(tmp_path / "pool", 60_000, 5_000, files=2, seed=3, matches_per_pair=(1.0,))
    out = tmp_path / "balance"
    balance(harvest, out)
    report = read_table(str(out / "report" / "balance.parquet"), "balance_report").to_pylist()
    capped = [row for row in report if row["matched"] > T]
    assert len(capped) > 20
    for row in capped:
        assert row["kept"] <= T + Z * math.sqrt(T * (1 - T / row["matched"])), row
    assert all(row["kept"] == row["matched"] for row in report if row["matched"] <= T)


@pytest.mark.slow  # three runs of the stage
def test_rerun_gives_identical_files_and_a_new_seed_a_new_sample(pool, run, tmp_path):
    out, stats = run
    again = tmp_path / "again"
    balance(pool, again, "--count-shards", "3", "--count-fanout", "1")  # tuning flags change nothing
    assert file_bytes(again) == file_bytes(out)
    other = tmp_path / "seed"
    other_stats = balance(pool, other, "--seed", "9")
    assert {r["uid"] for r in kept_rows(other)} != {r["uid"] for r in kept_rows(out)}
    assert abs(other_stats["kept"] - stats["kept"]) < 0.05 * stats["kept"]


@pytest.mark.slow
def test_two_workers_give_identical_files(pool, run, tmp_path):
    out, _ = run
    two = tmp_path / "two"
    balance(pool, two, "--direct_num_workers=2", "--direct_running_mode=multi_processing")
    assert file_bytes(two) == file_bytes(out)


def test_oversample_keeps_more(pool, run, tmp_path):
    _, stats = run
    more = balance(pool, tmp_path / "more", "--oversample", "1.5")
    assert more["rules"]["oversample"] == 1.5 and more["kept"] > stats["kept"]


def test_output_rows_keep_input_order_and_columns(pool, run):
    out, _ = run
    for path in sorted((out / "balanced").glob("*.parquet")):
        uids = pq.read_table(path, columns=["uid"]).column("uid").to_pylist()
        assert uids == sorted(uids)
    assert len(list((out / "balanced").glob("*.parquet"))) == 4
    assert not list((out / "balanced").glob("*.partial"))


def test_unreadable_and_wrong_files_are_reported_not_fatal(pool, tmp_path, capsys):
    harvest = tmp_path / "harvest"
    shutil.copytree(pool, harvest)
    (harvest / "candidates" / "part-00098.parquet").write_bytes(b"PAR1 this is not parquet")
    truncated = (harvest / "candidates" / "part-00000.parquet").read_bytes()
    (harvest / "candidates" / "part-00099.parquet").write_bytes(truncated[: len(truncated) // 2])
    wrong = read_table(str(harvest / "candidates" / "part-00001.parquet"), "candidates").drop_columns(["matches"])
    pq.write_table(wrong, harvest / "candidates" / "part-00097.parquet")
    out = tmp_path / "balance"
    stats = balance(harvest, out)
    bad = {entry["path"].rsplit("/", 1)[-1]: entry["error"] for entry in stats["unreadable_files"]}
    assert set(bad) == {"part-00097.parquet", "part-00098.parquet", "part-00099.parquet"}
    assert "column 'matches' is missing" in bad["part-00097.parquet"]
    assert stats["adds_up"] and stats["pairs_in"] == 200_000 and stats["files_read"] == 4
    assert "WARNING skipped (in stats.json)" in capsys.readouterr().err
    assert "could not be read" in (out / "report" / "balance.html").read_text()


def test_report_page_is_self_contained_and_complete(run):
    out, _ = run
    page = (out / "report" / "balance.html").read_text()
    for section in (
        "Totals",
        "Rank–frequency",
        "Concentration",
        "Queries by number of pairs",
        "Largest queries",
        "Rarest queries",
        "Queries that matched nothing",
        "By query source",
    ):
        assert f">{section}<" in page, section
    assert page.count("<svg") == 2
    assert "<script" not in page and 'src="http' not in page and "<link" not in page


def test_report_command_regenerates_the_page(run, tmp_path):
    out, _ = run
    page = out / "report" / "balance.html"
    original = page.read_text()
    page.unlink()
    assert main(["report", str(out)]) == 0
    assert page.read_text() == original
    assert main(["report", str(tmp_path)]) == 2  # a usage error: nothing to report on there


def test_key_counts_sum_across_batches_and_folds():
    counts = KeyCounts()
    expected: Counter[str] = Counter()
    rows = [["a", "b"], ["b"], [], ["c", "a", "a"]]
    for round_ in range(KeyCounts.fold * 2 + 3):  # past two folds
        batch = [*rows[round_ % len(rows) :], [f"k{round_}"]]
        counts.add(pa.array(batch, pa.list_(pa.string())))
        expected.update(key for row in batch for key in row)
    other = KeyCounts()
    other.add(pa.array([["a"], ["z"]], pa.list_(pa.string())))
    counts.update(other)
    expected.update(["a", "z"])
    assert counts.to_dict() == dict(expected)
    assert KeyCounts().to_dict() == {}
