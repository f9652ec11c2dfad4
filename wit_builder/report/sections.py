"""Each stage's section of the run report (``RUN/report/index.html``), named by the stage's
entry in ``wit_builder.stages``. A section takes the run folder and every stage's ``stats.json``
(None where it has not run) and returns its HTML, or None when its stage has not run here."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import urlsplit

import fsspec

from wit_builder.io.json_files import read_json
from wit_builder.report.balance import html_table
from wit_builder.report.svg import Series, bar_chart, line_chart

BLUE = "#1f77b4"
Stats = Mapping[str, Any]


def _read_json(path: str) -> Any | None:
    filesystem, _ = fsspec.core.url_to_fs(path)
    return read_json(path) if filesystem.isfile(path) else None


def _metrics(path: str) -> list[dict]:
    """The records of a training's metrics.jsonl; a line cut short by a kill is left out."""
    filesystem, _ = fsspec.core.url_to_fs(path)
    if not filesystem.isfile(path):
        return []
    records = []
    with fsspec.open(path, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
    return [record for record in records if isinstance(record, dict)]


def failing_hosts(download_dir: str, top: int = 10) -> list[tuple[str, int, str]]:
    """(host, URLs not kept, the most common reason) for the hosts that failed most."""
    import pyarrow.parquet as pq

    filesystem, _ = fsspec.core.url_to_fs(download_dir)
    per_host: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = {}
    for path in sorted(filesystem.glob(f"{download_dir}/status/*.parquet")):
        with filesystem.open(path, "rb") as handle:
            table = pq.read_table(handle, columns=["url", "status"])
        for url, status in zip(table.column("url").to_pylist(), table.column("status").to_pylist(), strict=True):
            if status in ("ok", "duplicate"):
                continue
            host = urlsplit(url).netloc or "(no host)"
            per_host[host] += 1
            reasons.setdefault(host, Counter())[status] += 1
    return [(host, count, reasons[host].most_common(1)[0][0]) for host, count in per_host.most_common(top)]


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else escape(str(value))


def _total(value: int | dict) -> int:
    return sum(value.values()) if isinstance(value, dict) else int(value)


def queries(run_dir: str, all_stats: Stats) -> str | None:
    stats = all_stats["queries"]
    if stats is None:
        return None
    per_source = stats["queries_per_source"]
    rows = [[escape(source), _number(count)] for source, count in per_source.items()]
    chart = bar_chart(list(per_source), [("queries", list(per_source.values()), BLUE)],
                      "Queries per source", "source", "queries")  # fmt: skip
    counts = stats["counts"]
    return (f"<p>{stats['queries']:,} queries from {counts.get('articles', 0):,} articles "
            f"({counts.get('tokens', 0):,} tokens); {_total(stats.get('overlap_removed', 0)):,} duplicates across "
            f"sources removed.</p>{html_table(['source', 'queries'], rows, {1})}{chart}")  # fmt: skip


def harvest(run_dir: str, all_stats: Stats) -> str | None:
    stats = all_stats["harvest"]
    if stats is None:
        return None
    drops = stats["dropped"]
    rows = [["kept", _number(stats["kept"])]] + [[escape(r.replace("_", " ")), _number(n)] for r, n in drops.items()]
    rows.append(["<b>pairs read</b>", f"<b>{stats['pairs_read']:,}</b>"])
    other = stats.get("records_without_pairs", {})
    extra = ""
    if other:
        extra = (
            "<p class='note'>Records and files that gave no pair: "
            + ", ".join(f"{escape(k.replace('_', ' '))} {v:,}" for k, v in other.items())
            + ".</p>"
        )
    chart = bar_chart(["kept", *drops], [("pairs", [stats["kept"], *drops.values()], BLUE)],
                      "Harvest: every pair read, kept or dropped by reason", "fate", "pairs")  # fmt: skip
    adds_up = "add up" if stats.get("adds_up") else "do NOT add up"
    return f"{html_table(['fate', 'pairs'], rows, {1})}<p class='note'>The counts {adds_up}.</p>{extra}{chart}"


def balance(run_dir: str, all_stats: Stats) -> str | None:
    balance, shard = all_stats["balance"], all_stats.get("shard")
    if balance is None:
        return None
    links = ['<a href="../balance/report/balance.html">before download: the balance stage\'s report</a>']
    if shard is not None:
        links.append('<a href="../shard/report/balance.html">after download: the shard stage\'s report</a>')
    queries = balance.get("queries", {})
    rows = [["pairs in", _number(balance["pairs_in"])], ["kept", _number(balance["kept"])],
            ["dropped over the cap", _number(balance["dropped"]["over_cap"])],
            ["queries matched", _number(queries.get("matched", 0))],
            ["queries capped", _number(queries.get("capped", 0))]]  # fmt: skip
    if shard is not None:
        rows += [["samples in shards", _number(shard["written"])], ["capped again at shard", _number(shard["capped"])]]
    return f"{html_table(['', ''], rows, {1})}<p>{' · '.join(links)}</p>"


def download(run_dir: str, all_stats: Stats) -> str | None:
    stats = all_stats["download"]
    if stats is None:
        return None
    statuses = stats["statuses"]
    chart = bar_chart(list(statuses), [("URLs", list(statuses.values()), BLUE)],
                      "Download: the fate of every URL", "status", "URLs")  # fmt: skip
    hosts = failing_hosts(f"{run_dir}/download")
    host_rows = [[escape(host), _number(count), escape(reason)] for host, count, reason in hosts]
    host_table = (
        html_table(["host", "URLs not kept", "most common reason"], host_rows, {1})
        if host_rows
        else "<p class='note'>No URL failed.</p>"
    )
    adds_up = "add up" if stats.get("adds_up") else "do NOT add up"
    return (f"<p>{stats['ok']:,} of {stats['pairs_in']:,} images kept; the statuses {adds_up}.</p>{chart}"
            f"<h3>Top failing hosts</h3>{host_table}")  # fmt: skip


def shard(run_dir: str, all_stats: Stats) -> str | None:
    manifest, stats = _read_json(f"{run_dir}/shard/manifest.json"), all_stats["shard"]
    if manifest is None or stats is None:
        return None
    totals = manifest["totals"]
    rows = [["shards", _number(totals["shards"])], ["samples", _number(totals["samples"])],
            ["bytes", f"{totals['bytes'] / 1e6:,.1f} MB"]]  # fmt: skip
    return (f"{html_table(['', ''], rows, {1})}<p>Point a trainer at them:</p>"
            f"<pre><code>--train-data '{escape(manifest['train_data'])}'</code></pre>"
            '<p class="note"><a href="../shard/manifest.json">manifest.json</a> lists every shard with its size '
            "and SHA-256; <code>wit-builder verify</code> checks them.</p>")  # fmt: skip


def train(run_dir: str, all_stats: Stats) -> str | None:
    records = _metrics(f"{run_dir}/train/metrics.jsonl")
    results = _read_json(f"{run_dir}/train/eval.json")
    if not records and results is None:
        return None
    steps = [r for r in records if "loss" in r]
    chart = line_chart([Series("training loss", [r["step"] for r in steps], [r["loss"] for r in steps], BLUE)],
                       "Training loss", "step", "loss")  # fmt: skip
    rate = [r["samples_per_second"] for r in steps if "samples_per_second" in r]
    speed = f"<p>{rate[-1]:,.1f} samples/s at the end of training.</p>" if rate else ""
    table = ""
    if results is not None:
        chance = {"image_to_text_R@1": results.get("chance_R@1"), "text_to_image_R@1": results.get("chance_R@1"),
                  "zeroshot_top1": results.get("zeroshot_chance")}  # fmt: skip
        rows = [[escape(name), f"{value:.4f}" if isinstance(value, float) else _number(value),
                 f"{chance[name]:.4f}" if chance.get(name) else ""]
                for name, value in results.items() if not isinstance(value, list | dict)]  # fmt: skip
        table = "<h3>Evaluation (held-out)</h3>" + html_table(["metric", "value", "chance"], rows, {1, 2})
    return chart + speed + table
