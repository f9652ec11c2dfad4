"""What the report's words and charts say: counts in their number, figures by name, round ticks,
bars of 1 that show, x labels that never overlap."""

from __future__ import annotations

import re

import numpy as np

from wit_builder.report.balance import QueryTable, render_balance_report
from wit_builder.report.evaluation_figures import evaluation_figures, metric_name
from wit_builder.report.svg import Series, bar_chart, line_chart, nice_ticks
from wit_builder.wording import counted


def test_counts_take_the_number_of_their_noun():
    assert counted(1, "pair") == "1 pair"
    assert counted(0, "pair") == "0 pairs"
    assert counted(2_500, "tail query", "tail queries") == "2,500 tail queries"
    assert counted(1, "tail query", "tail queries") == "1 tail query"


def _bar_heights(svg: str) -> dict[str, float]:
    return {
        title.split(": ")[0].split(", ")[1]: float(height)
        for height, title in re.findall(r'height="([\d.]+)" fill="[^"]+"><title>([^<]+)</title>', svg)
    }


def test_a_bar_of_one_stands_above_the_axis_on_a_log_scale():
    svg = bar_chart(["one", "ten", "thousand"], [("pairs", [1, 10, 1000], "#000")], "Bars", "reason", "pairs")
    heights = _bar_heights(svg)
    assert heights["one"] > 10  # pixels: as plain to see as the others
    assert heights["one"] < heights["ten"] < heights["thousand"]
    assert ">1<" in svg and ">1k<" in svg


def test_long_x_labels_are_turned_so_that_they_never_overlap():
    reasons = ["kept", "not_unicode", "bad_url", "empty_text", "text_too_short", "text_too_long",
               "not_image_extension", "no_language_list", "no_match", "duplicate_url", "blocklisted"]  # fmt: skip
    svg = bar_chart(reasons, [("pairs", [5] * len(reasons), "#000")], "Harvest", "fate", "pairs")
    assert svg.count('transform="rotate(-35') == len(reasons)
    height = int(re.search(r'height="(\d+)" role="img"', svg).group(1))
    assert height > 380  # the chart grew to hold the turned labels
    short = bar_chart(["a", "b"], [("n", [1, 2], "#000")], "Few", "x", "n")
    assert "rotate(-35" not in short


def test_ticks_fall_on_round_values():
    assert nice_ticks(0, 1.23) == [0, 0.25, 0.5, 0.75, 1.0, 1.25]
    for low, high in ((0, 1.23), (0, 3.7), (20, 200), (0, 0.0421), (0, 17_345)):
        ticks = nice_ticks(low, high)
        assert ticks[0] <= low and ticks[-1] >= high and len(ticks) <= 8
        step = ticks[1] - ticks[0]
        mantissa = step / 10 ** np.floor(np.log10(step))
        assert round(mantissa, 6) in (1, 2, 2.5, 5)
    svg = line_chart([Series("loss", [20, 100, 200], [3.25, 2.01, 1.23], "#000")], "Loss", "step", "loss")
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', svg)
    assert labels == ["0", "1", "2", "3", "4"]


def test_evaluation_figures_are_named_in_words_with_their_chance():
    results = {"n": 400, "image_to_text_R@1": 0.0325, "image_to_text_R@5": 0.17, "text_to_image_R@10": 0.3,
               "chance_R@1": 0.0025, "zeroshot_top1": 0.48, "zeroshot_top5": 0.95, "classes": 10,
               "zeroshot_n": 100, "zeroshot_chance": 0.1}  # fmt: skip
    rows = {name: (value, chance) for name, value, chance in evaluation_figures(results)}
    assert rows == {
        "image → text R@1": (0.0325, 0.0025),
        "image → text R@5": (0.17, 0.0125),
        "text → image R@10": (0.3, 0.025),
        "zero-shot top-1": (0.48, 0.1),
        "zero-shot top-5": (0.95, 0.5),
    }
    assert metric_name("something_new") == "something new"


def test_a_worldwide_balance_page_gives_every_query_its_language():
    table = QueryTable(
        ["0", "0", "lighthouse", "Leuchtturm", "1"],
        ["number", "number", "wordnet", "title", "number"],
        np.array([0, 0, 9, 4, 0]),
        np.array([0, 0, 9, 4, 0]),
        np.array([1.0, 1.0, 1.0, 1.0, 1.0]),
        ["de", "en", "en", "de", "de"],
    )
    stats = {
        "rules": {"per_query": 50, "oversample": 1.0, "seed": 0}, "pairs_in": 13, "kept": 13,
        "dropped": {"over_cap": 0, "no_matches": 0}, "adds_up": True, "files_read": 1, "unreadable_files": [],
        "queries": {"in_list": 5, "matched": 2, "capped": 0, "matched_nothing": 3, "not_in_list": 0},
    }  # fmt: skip
    page = render_balance_report(stats, table)
    assert "<th>language</th>" in page.replace(' class=""', "")
    assert re.search(r"<code>lighthouse</code></td><td[^>]*>en</td><td[^>]*>wordnet</td>", page)
    unmatched = re.findall(r"<div><code>([^<]+)</code></div>", page)
    assert unmatched == ["0 (de)", "1 (de)", "0 (en)"]
    assert "3 of 5 queries in the list matched none" in page
