"""Hourly pageview dumps in Wikimedia's format: ``pageviews-YYYYMMDD-HH0000.gz``.

Each line is ``domain_code page_title count_views total_response_size`` (the last is 0 in
dumps since 2016), titles with underscores for spaces, lines sorted by domain then title.
Besides English Wikipedia desktop (``en``) and mobile (``en.m``) the files carry other
projects (``de``, ``en.d`` Wiktionary, ``commons.m``) and non-article titles
(``Special:Search``, ``Talk:...``), which the queries stage must leave out.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wit_builder.synthetic.seeding import numpy_rng

DOMAIN_SHARES = {"en": 0.6, "en.m": 0.4}
OTHER_PROJECTS = ("commons.m", "de", "en.d")


def title_popularity(titles: Sequence[str], seed: int) -> dict[str, float]:
    """Expected views per hour over all English domains: Zipf over a shuffled title order,
    from ~2,000/hour for the most viewed title down to well under 1 (so thresholds bind)."""
    rng = numpy_rng(seed, "pageviews", "popularity")
    order = rng.permutation(len(titles))
    return {titles[i]: 2000.0 / (rank + 1) ** 1.1 for rank, i in enumerate(order)}


def write_pageviews(
    article_titles: Sequence[str],
    other_titles: Sequence[str],
    out_dir: str | Path,
    hours: int,
    seed: int,
) -> list[Path]:
    """One gzip file per hour of 2026-01-01; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    popularity = title_popularity(list(article_titles) + list(other_titles), seed)
    titles = list(popularity)
    expected = np.array([popularity[t] for t in titles])
    written: list[Path] = []
    for hour in range(hours):
        rng = numpy_rng(seed, "pageviews", "hour", hour)
        diurnal = 0.6 + 0.8 * np.sin(np.pi * (hour % 24) / 24)
        lines: list[tuple[str, str, int]] = []
        for domain, share in DOMAIN_SHARES.items():
            counts = rng.poisson(expected * share * diurnal)
            lines.extend((domain, t.replace(" ", "_"), int(c)) for t, c in zip(titles, counts, strict=True) if c > 0)
        lines.append(("en", "Special:Search", int(rng.integers(5000, 9000))))
        lines.append(("en", "Main_Page", int(rng.integers(50_000, 90_000))))
        for project in OTHER_PROJECTS:
            counts = rng.poisson(expected[:50] * 0.5)
            lines.extend(
                (project, t.replace(" ", "_"), int(c)) for t, c in zip(titles[:50], counts, strict=True) if c > 0
            )
        lines.sort()
        body = "".join(f"{domain} {title} {count} 0\n" for domain, title, count in lines)
        path = out / f"pageviews-20260101-{hour:02d}0000.gz"
        # mtime=0 keeps the gzip header, and so the bytes, the same on every run.
        path.write_bytes(gzip.compress(body.encode(), compresslevel=6, mtime=0))
        written.append(path)
    return written
