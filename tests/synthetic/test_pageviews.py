"""Pageview files have the dumps' line format and carry what the queries stage must filter."""

from __future__ import annotations

import gzip
import re

LINE = re.compile(r"^(\S+) (\S+) (\d+) 0$")


def test_pageview_lines(small_world, small_world_dir):
    files = sorted(small_world_dir.root.glob("pageviews/pageviews-20260101-*0000.gz"))
    assert len(files) == small_world.config.pageview_hours
    domains, titles = set(), set()
    for path in files:
        lines = gzip.decompress(path.read_bytes()).decode().splitlines()
        parsed = [LINE.match(line) for line in lines]
        assert all(parsed), "every line is 'domain_code page_title count_views total_response_size'"
        keys = [(m[1], m[2]) for m in parsed]
        assert keys == sorted(keys)
        domains |= {m[1] for m in parsed}
        titles |= {m[2] for m in parsed if m[1] == "en"}
    assert {"en", "en.m", "de", "commons.m"} <= domains
    assert "Special:Search" in titles and any(t.startswith(("Talk:", "Category:")) for t in titles)
    assert " " not in "".join(titles)
    article_titles = {t.replace(" ", "_") for t in small_world.article_titles}
    assert len(article_titles & titles) > len(article_titles) // 2
