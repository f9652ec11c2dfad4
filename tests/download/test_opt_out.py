"""Each opt-out signal's rules, without the network: robots.txt (our group or *, longest match,
Allow on ties, 4xx/5xx), X-Robots-Tag, TDMRep, Content-Usage and ai.txt."""

from __future__ import annotations

import pytest

from wit_builder.download.opt_out import (
    SIGNALS,
    AiTxtFile,
    RobotsFile,
    TdmRepFile,
    content_usage,
    content_usage_refusal,
    opt_out_signals,
    tdm_header_refusal,
    x_robots_tag_refusal,
)

UA = "wit-builder/0.1 (image-text dataset collection)"
ROBOTS = "http://h/robots.txt"


def robots(text: str) -> RobotsFile:
    return RobotsFile.parse(ROBOTS, text, UA)


def test_robots_disallow_for_everyone_names_the_rule():
    refusal = robots("User-agent: *\nDisallow: /img/\n").refusal("http://h/img/a.jpg")
    assert refusal.signal == "robots"
    assert str(refusal) == "robots.txt http://h/robots.txt: Disallow: /img/ (User-agent: *)"
    assert robots("User-agent: *\nDisallow: /img/\n").refusal("http://h/pages/a.html") is None


def test_robots_our_group_wins_over_star():
    text = "User-agent: *\nDisallow: /\n\nUser-agent: wit-builder\nAllow: /\n"
    assert robots(text).refusal("http://h/img/a.jpg") is None
    only_us = "User-agent: otherbot\nAllow: /\n\nUser-agent: wit-builder\nDisallow: /img\n"
    assert "User-agent: wit-builder" in str(robots(only_us).refusal("http://h/img/a.jpg"))
    assert robots("User-agent: otherbot\nDisallow: /\n").refusal("http://h/img/a.jpg") is None


def test_robots_longest_match_and_allow_on_ties():
    text = "User-agent: *\nDisallow: /img/\nAllow: /img/public/\nDisallow: /*.png$\n"
    assert robots(text).refusal("http://h/img/public/a.jpg") is None
    assert robots(text).refusal("http://h/img/public/a.png") is None  # the longer Allow wins
    assert "Disallow: /*.png$" in str(robots(text).refusal("http://h/img/a.png"))
    assert robots("User-agent: *\nDisallow: /a\nAllow: /a\n").refusal("http://h/a/b.jpg") is None


def test_robots_missing_allows_and_unreachable_disallows():
    assert RobotsFile.unavailable(ROBOTS, UA, "missing", "404").refusal("http://h/img/a.jpg") is None
    refusal = RobotsFile.unavailable(ROBOTS, UA, "unreachable", "503 Service Unavailable").refusal("http://h/a.jpg")
    assert refusal.signal == "robots" and "unreachable (503 Service Unavailable)" in str(refusal)


def test_robots_crawl_delay_and_content_usage_lines():
    text = "User-agent: *\nCrawl-delay: 2.5\nContent-Usage: train-ai=n\nContent-Usage: /open/ train-ai=y\n"
    file = robots(text)
    assert file.crawl_delay() == 2.5
    refusal = file.usage_refusal("http://h/img/a.jpg")
    assert refusal.signal == "content-usage" and str(refusal).endswith("Content-Usage: train-ai=n")
    assert file.usage_refusal("http://h/open/a.jpg") is None  # the longer prefix says yes
    assert robots("User-agent: *\nContent-Usage: search=n\n").usage_refusal("http://h/a.jpg") is None


def test_x_robots_tag_directives_and_scopes():
    directives = ("noai", "noimageai", "noml", "noindex", "none")
    assert str(x_robots_tag_refusal(["noai, noimageai"], UA, directives)) == "X-Robots-Tag: noai"
    assert x_robots_tag_refusal(["noml"], UA, directives).rule == "noml"
    assert x_robots_tag_refusal(["otherbot: noai"], UA, directives) is None
    assert x_robots_tag_refusal(["wit-builder: noimageai"], UA, directives).rule == "noimageai"
    assert x_robots_tag_refusal(["max-image-preview: large"], UA, directives) is None


def test_tdmrep_header_and_file():
    assert tdm_header_refusal("1").signal == "tdmrep" and tdm_header_refusal("0") is None
    assert tdm_header_refusal(None) is None
    text = '[{"location": "/img/open/*", "tdm-reservation": 0}, {"location": "/img/*", "tdm-reservation": 1}]'
    file = TdmRepFile.parse("http://h/.well-known/tdmrep.json", text)
    assert str(file.refusal("http://h/img/a.jpg")) == "tdmrep.json http://h/.well-known/tdmrep.json: /img/* reserved"
    assert file.refusal("http://h/img/open/a.jpg") is None and file.refusal("http://h/pages/a.html") is None
    assert TdmRepFile.parse("u", "not json").refusal("http://h/img/a.jpg") is None


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ("train-ai=n", True),
        ("bots=n", True),
        ("bots=n, train-ai=y", False),  # the more specific preference decides
        ("train-genai=n", False),  # generative training is narrower than ours
        ("search=n", False),
        ("train-ai=y", False),
        ("train-ai=n;q=1", True),  # parameters do not change the value
        ("not a dictionary ((", False),  # unreadable: no preference
    ],
)
def test_content_usage_header(value, refused):
    assert (content_usage_refusal(value) is not None) == refused


def test_content_usage_parses_structured_fields():
    assert content_usage("train-ai=n, search=y") == {"train-ai": "n", "search": "y"}
    assert content_usage("train-ai=?0") == {}  # a boolean is not a y/n token


def test_ai_txt_file_types_and_paths():
    text = "User-Agent: *\nDisallow: *.jpg\nDisallow: /private/\nAllow: /private/ok.png\n"
    file = AiTxtFile.parse("http://h/ai.txt", text, UA)
    assert str(file.refusal("http://h/img/a.jpg")) == "ai.txt http://h/ai.txt: Disallow: *.jpg"
    assert file.refusal("http://h/img/a.png") is None
    assert file.refusal("http://h/private/ok.png") is None and file.refusal("http://h/private/x.png") is not None


def test_ignore_opt_out_names():
    assert opt_out_signals("robots, ai-txt") == {"robots", "ai-txt"}
    assert opt_out_signals("all") == frozenset(SIGNALS) and opt_out_signals("") == frozenset()
    with pytest.raises(ValueError, match="unknown opt-out signal 'robot'"):
        opt_out_signals("robot")


@pytest.mark.parametrize(
    ("refusal", "evidence", "signal"),
    [
        ("robots", "robots.txt http://h/robots.txt: Disallow: /img/ (User-agent: *)", "robots"),
        ("usage", "robots.txt http://h/robots.txt: Content-Usage: train-ai=n", "content-usage"),
        ("x-robots", "X-Robots-Tag: noai", "x-robots-tag"),
        ("tdm-header", "tdm-reservation header: 1", "tdmrep"),
        ("usage-header", "Content-Usage header: train-ai=n", "content-usage"),
    ],
)
def test_a_refusal_carries_its_signal_and_evidence_as_data(refusal, evidence, signal):
    """Each signal's refusal says which signal it is (the status row's ``signal``), and its
    evidence (``evidence``); nothing reads them back out of a sentence."""
    from wit_builder.download.opt_out import (
        RobotsFile,
        content_usage_refusal,
        tdm_header_refusal,
        x_robots_tag_refusal,
    )

    made = {
        "robots": lambda: RobotsFile.parse(
            "http://h/robots.txt", "User-agent: *\nDisallow: /img/\n", "wit-builder"
        ).refusal("http://h/img/a.jpg"),
        "usage": lambda: RobotsFile.parse(
            "http://h/robots.txt", "User-agent: *\nContent-Usage: train-ai=n\n", "wit-builder"
        ).usage_refusal("http://h/img/a.jpg"),
        "x-robots": lambda: x_robots_tag_refusal(["noai"], "wit-builder", ("noai",)),
        "tdm-header": lambda: tdm_header_refusal("1"),
        "usage-header": lambda: content_usage_refusal("train-ai=n"),
    }[refusal]()
    assert made.signal == signal and made.evidence == evidence == str(made)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/img/", "/img/a.jpg", True),
        ("/img/", "/im", False),
        ("/*.jpg$", "/a/b.jpg", True),
        ("/*.jpg$", "/a/b.jpg?x=1", False),
        ("/*.jpg", "/a/b.jpg?x=1", True),
        ("/a*b*c", "/axxbyyc-tail", True),
        ("/a*b*c", "/axxcyyb", False),
        ("/a$", "/a", True),
        ("/a$", "/ab", False),
        ("/*ab$", "/ab", True),
        ("/*", "/", True),
    ],
)
def test_path_patterns_match_as_robots_txt_says(pattern, path, matches):
    from wit_builder.download.opt_out import PathPattern

    assert PathPattern.of(pattern).match(path) == matches


def test_a_hostile_pattern_cannot_stall_the_match():
    """``*a*a*...*b`` against a long run of a's takes exponential time in a backtracking regex."""
    import time

    from wit_builder.download.opt_out import AiTxtFile

    hostile = AiTxtFile.parse("http://h/ai.txt", "User-agent: *\nDisallow: /" + "*a" * 40 + "*b\n", UA)
    started = time.process_time()  # this process's CPU, which other jobs on the machine do not add to
    assert hostile.refusal("http://h/" + "a" * 5000) is None
    assert time.process_time() - started < 2.0  # a backtracking match would take longer than the universe


def test_a_tdmrep_file_nested_too_deep_reserves_nothing():
    deep = "[" * 100_000 + "]" * 100_000
    assert TdmRepFile.parse("http://h/.well-known/tdmrep.json", deep).refusal("http://h/img/a.jpg") is None
