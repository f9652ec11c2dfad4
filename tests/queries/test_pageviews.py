"""Pageview lines: both formats, the project filter, the hourly rule, namespaces, malformed lines."""

from __future__ import annotations

import pytest

from wit_builder.queries.pageviews import PageviewRules, hourly_counts, parse_line

RULES = PageviewRules()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("en Red_circle 50 0", ("en", "Red circle", 50)),  # exactly the hourly minimum counts
        ("en Red_circle 49 0", None),  # one below does not
        ("en.wikipedia Blue_star 120 0", ("en", "Blue star", 120)),
        ("en.m Red_circle 500 0", None),  # mobile is not counted unless asked for
        ("de Red_circle 500 0", None),  # no German dump: German titles do not count
        ("en Talk:Red_circle 500 0", None),  # other namespaces
        ("en Special:Search 9000 0", None),
        ("en.wikipedia Main_Page 15 desktop 300 A60B70C10", ("en", "Main Page", 130)),  # per-article format
    ],
)
def test_lines(line, expected):
    assert parse_line(line, RULES) == expected


def test_mobile_when_asked_for():
    assert parse_line("en.m Red_circle 500 0", PageviewRules(projects=("en", "en.m"))) == ("en", "Red circle", 500)


@pytest.mark.parametrize("line", ["en broken", "en Title many 0", "en.wikipedia T 1 desktop 5 ???"])
def test_malformed_lines_give_a_reason(line):
    reason = parse_line(line, RULES)
    assert isinstance(reason, str) and reason


def test_hourly_counts():
    assert hourly_counts("A3C12X1") == [3, 12, 1]


def test_each_project_counts_for_its_own_language():
    rules = PageviewRules(languages=("en", "de", "zh-yue"))
    assert parse_line("de Roter_Kreis 80 0", rules) == ("de", "Roter Kreis", 80)
    assert parse_line("de.wikipedia Roter_Kreis 80 0", rules) == ("de", "Roter Kreis", 80)
    assert parse_line("zh-yue 香港 90 0", rules) == ("zh-yue", "香港", 90)
    assert parse_line("fr Cercle_rouge 80 0", rules) is None
    assert parse_line("de.m Roter_Kreis 80 0", rules) is None
    literal = PageviewRules(projects=("de.m",), languages=("en",))  # a literal project names its language
    assert parse_line("de.m Roter_Kreis 80 0", literal) == ("de", "Roter Kreis", 80)
