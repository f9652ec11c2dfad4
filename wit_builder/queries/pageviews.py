"""Pageview dump lines to (title, views) for the title source of the query list.

Two formats, told apart by their field count:
- hourly files ``pageviews-YYYYMMDD-HH0000.gz``:
  ``domain_code page_title count_views total_response_size``;
- per-article daily/monthly files (``pageviews-YYYYMMDD-user.bz2``):
  ``wiki_code page_title page_id access_method daily_total hourly_counts``, where
  ``hourly_counts`` packs the hours as a letter (A = 00:00 … X = 23:00) and a count: ``A3C12``.

Rules (MetaCLIP's): only the project codes given count, each for the language of its wiki:
the patterns ``{lang}`` and ``{lang}.wikipedia`` (desktop; add ``{lang}.m`` for mobile) stand
for each dump's language, so ``de`` and ``de.wikipedia`` are German titles when a German dump
is read; a pattern without ``{lang}`` is its own project, of the language before its first dot.
A count is taken only from an hourly value of at least ``min_hourly_views``; titles with ':'
(other namespaces) are left out. Titles are normalised as dump titles are written: underscores
become spaces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PROJECTS = ("{lang}", "{lang}.wikipedia")
_HOURLY_PACKED = re.compile(r"([A-X])(\d+)")


@dataclass(frozen=True)
class PageviewRules:
    projects: tuple[str, ...] = DEFAULT_PROJECTS
    min_hourly_views: int = 50
    languages: tuple[str, ...] = ("en",)

    def __post_init__(self) -> None:
        languages: dict[str, str] = {}
        for pattern in self.projects:
            if "{lang}" in pattern:
                languages.update((pattern.replace("{lang}", lang), lang) for lang in self.languages)
            else:
                languages[pattern] = pattern.split(".", 1)[0]
        object.__setattr__(self, "_language_of", languages)

    def language_of(self, project: str) -> str | None:
        """The language whose titles a project's lines are, or None for a project not counted."""
        return self._language_of.get(project)


def normalise_title(raw: str) -> str:
    return raw.replace("_", " ").strip()


def hourly_counts(packed: str) -> list[int]:
    """The hourly values of a per-article line's packed field (``A3C12`` → [3, 12])."""
    return [int(count) for _, count in _HOURLY_PACKED.findall(packed)]


def parse_line(line: str, rules: PageviewRules) -> tuple[str, str, int] | str | None:
    """(language, title, views counted) for a line that counts, None for one the rules leave
    out, or the reason a malformed line cannot be read (a string)."""
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
    lang = rules.language_of(project)
    if lang is None:
        return None
    title = normalise_title(raw_title)
    if not title or ":" in title:
        return None
    counted = sum(value for value in hourly if value >= rules.min_hourly_views)
    return (lang, title, counted) if counted else None
