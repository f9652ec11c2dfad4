"""The download stage's section of the run report: every URL's fate and the hosts that failed
most, read from the stage's status files through their schema (the opt-out signal is the
status's ``signal`` column). The opt-outs and removals have their own section
(``removals_section``). Like every section, it lives in ``report/``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import fsspec

from wit_builder.report.svg import bar_chart
from wit_builder.report.templating import Markup, render
from wit_builder.schemas import damage_named, read_batches

BLUE = "#1f77b4"


def _status_rows(download_dir: str) -> Iterator[tuple[str, str, str | None]]:
    """(url, status, signal) of every status row of a download folder (``signal``: the opt-out
    signal of an ``opted_out`` row; null in files written before the column)."""
    filesystem, _ = fsspec.core.url_to_fs(download_dir)
    columns = ["url", "status", "signal"]
    for path in sorted(filesystem.glob(f"{download_dir}/status/*.parquet")):
        with damage_named(path):
            for table in read_batches(path, "status", columns):
                yield from zip(*(table.column(name).to_pylist() for name in columns), strict=True)


def _top_hosts(download_dir: str, reason: Callable[[str, str | None], str | None], top: int) -> list:
    """(host, URLs, the most common reason) for the ``top`` hosts with the most URLs that
    ``reason(status, signal)`` gives a reason for (None: the URL does not count)."""
    per_host: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = {}
    for url, status, signal in _status_rows(download_dir):
        why = reason(status, signal)
        if why is not None:
            host = urlsplit(url).netloc or "(no host)"
            per_host[host] += 1
            reasons.setdefault(host, Counter())[why] += 1
    return [(host, count, reasons[host].most_common(1)[0][0]) for host, count in per_host.most_common(top)]


def failing_hosts(download_dir: str, top: int = 10) -> list[tuple[str, int, str]]:
    """(host, URLs not kept, the most common status) for the hosts that failed most."""
    return _top_hosts(download_dir, lambda status, _: None if status in ("ok", "duplicate") else status, top)


def unreachable_hosts(download_dir: str, statuses: tuple[str, ...], top: int = 3) -> list[tuple[str, int, str]]:
    """(host, URLs, the most common status) for the hosts whose URLs ended in ``statuses`` most."""
    return _top_hosts(download_dir, lambda status, _: status if status in statuses else None, top)


def opted_out_hosts(download_dir: str, top: int = 20) -> list[tuple[str, int, str]]:
    """(host, URLs opted out, the signal that refused most of them) for the hosts opting out most."""
    return _top_hosts(
        download_dir, lambda status, signal: (signal or "unknown") if status == "opted_out" else None, top
    )


def report_section(run_dir: str, all_stats: Mapping[str, Any]) -> str | None:
    stats = all_stats["download"]
    if stats is None:
        return None
    statuses = stats["statuses"]
    chart = bar_chart(
        list(statuses), [("URLs", list(statuses.values()), BLUE)], "Download: the fate of every URL", "status", "URLs"
    )
    return render(
        "sections/download.html.j2",
        ok=stats["ok"],
        pairs_in=stats["pairs_in"],
        counts_add_up=stats.get("adds_up"),
        chart=Markup(chart),
        hosts=[list(host) for host in failing_hosts(f"{run_dir}/download")],
    )
