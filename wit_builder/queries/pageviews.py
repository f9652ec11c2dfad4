"""Pageview dump lines to (title, views) for the title source of the query list.

Two formats, told apart by their field count:
- hourly files ``pageviews-YYYYMMDD-HH0000.gz``:
  ``domain_code page_title count_views total_response_size``;
- per-article daily/monthly files (``pageviews-YYYYMMDD-user.bz2``):
  ``wiki_code page_title page_id access_method daily_total hourly_counts``, where
  ``hourly_counts`` packs the hours as a letter (A = 00:00 … X = 23:00) and a count: ``A3C12``.

Rules (MetaCLIP's): only the English Wikipedia project codes given (``en`` and
``en.wikipedia`` by default: desktop; add ``en.m`` for mobile); a count is taken only from an
hourly value of at least ``min_hourly_views``; titles with ':' (other namespaces) are left out.
Titles are normalised as dump titles are written: underscores become spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PROJECTS = ("en", "en.wikipedia")
_HOURLY_PACKED = re.compile(r"([A-X])(\d+)")


@dataclass(frozen=True)
class PageviewRules:
    projects: tuple[str, ...] = DEFAULT_PROJECTS
    min_hourly_views: int = 50


def normalise_title(raw: str) -> str:
    return raw.replace("_", " ").strip()


def hourly_counts(packed: str) -> list[int]:
    """The hourly values of a per-article line's packed field (``A3C12`` → [3, 12])."""
    return [int(count) for _, count in _HOURLY_PACKED.findall(packed)]


def parse_line(line: str, rules: PageviewRules) -> tuple[str, int] | str | None:
    """(title, views counted) for a line that counts, None for one the rules leave out, or the
    reason a malformed line cannot be read (a string)."""
    fields = line.rstrip("\n").split(" ")
    if len(fields) == 4:
        project, raw_title, views, _ = fields
        if not views.isdigit():
            return f"views field is not a number: {views[:40]!r}"
        hourly = [int(views)]
    elif len(fields) == 6:
        project, raw_title, _, _, _, packed = fields
        hourly = hourly_counts(packed)
        if not hourly:
            return f"no hourly counts in {packed[:40]!r}"
    else:
        return f"expected 4 or 6 space-separated fields, got {len(fields)}"
    if project not in rules.projects:
        return None
    title = normalise_title(raw_title)
    if not title or ":" in title:
        return None
    counted = sum(value for value in hourly if value >= rules.min_hourly_views)
    return (title, counted) if counted else None
