"""The balance report's numbers and charts, from small tables whose answers are known."""

from __future__ import annotations

import numpy as np

from wit_builder.report.balance import (
    QueryTable,
    bucket_counts,
    rank_curve,
    render_balance_report,
    size_buckets,
    top_share,
)
from wit_builder.report.svg import Series, bar_chart, compact, loglog_chart


def test_compact_labels():
    assert [compact(v) for v in (0, 1, 10, 999, 1000, 1500, 20_000, 1_000_000)] == [
        "0",
        "1",
        "10",
        "999",
        "1k",
        "1.5k",
        "20k",
        "1M",
    ]


def test_size_buckets_end_at_the_cap():
    labels = [label for label, _, _ in size_buckets(20_000)]
    assert labels == ["0", "1–10", "11–100", "101–1,000", "1,001–10,000", "10,001–19,999", "≥ 20,000"]
    buckets = size_buckets(200)
    assert [label for label, _, _ in buckets] == ["0", "1–10", "11–100", "101–199", "≥ 200"]
    values = np.array([0, 0, 1, 10, 11, 150, 199, 200, 5000])
    assert bucket_counts(values, buckets) == [2, 2, 1, 2, 2]


def test_top_share():
    values = np.array([50, 30, 10, 5, 5] + [0] * 5)
    assert top_share(values, 0.01, population=5) == 0.5  # the top query of five
    assert top_share(values, 0.40, population=5) == 0.8
    assert top_share(np.zeros(3), 0.1, population=3) == 0.0


def test_rank_curve_thins_but_keeps_the_ends():
    values = np.arange(1, 100_001)[::-1].astype(np.int64)
    ranks, counts = rank_curve(values, points=50)
    assert ranks[0] == 1 and counts[0] == 100_000
    assert ranks[-1] == 100_000 and counts[-1] == 1
    assert len(ranks) <= 50 and ranks == sorted(ranks)


def test_charts_are_svg_with_their_labels():
    line = loglog_chart(
        [Series("before", [1, 10, 100], [1000, 100, 10], "#000")], "Curve", "rank", "pairs", (50, "t = 50")
    )
    assert line.startswith("<svg") and line.endswith("</svg>") and "t = 50" in line and "<polyline" in line
    assert "no data" in loglog_chart([Series("x", [], [], "#000")], "Empty", "x", "y")
    bars = bar_chart(["0", "1–10"], [("before", [0, 12], "#000")], "Bars", "bucket", "queries")
    assert bars.count("<rect") == 1 and ">12<" in bars and ">0<" in bars


def test_page_escapes_query_text_and_reports_unreadable_files():
    table = QueryTable(
        ["<script>alert(1)</script>", "plain"],
        ["title", None],
        np.array([300, 0]),
        np.array([200, 0]),
        np.array([200 / 300, 1.0]),
    )
    stats = {
        "rules": {"per_query": 200, "oversample": 1.0, "seed": 0}, "pairs_in": 300, "kept": 200,
        "dropped": {"over_cap": 100, "no_matches": 0}, "adds_up": True, "files_read": 1,
        "unreadable_files": [{"path": "bad.parquet", "error": "ArrowInvalid: <not parquet>"}],
        "queries": {"in_list": 1, "matched": 1, "capped": 1, "matched_nothing": 1, "not_in_list": 1},
    }  # fmt: skip
    page = render_balance_report(stats, table)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "bad.parquet" in page and "&lt;not parquet&gt;" in page
    assert "not in the list" in page  # the source table names queries outside the list
