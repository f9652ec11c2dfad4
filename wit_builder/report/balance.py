"""The balance report: ``report/balance.html``, one self-contained page an auditor can read offline.

It is computed from the stage's own outputs only (``report/balance.parquet`` and
``stats.json``), so ``wit-builder report RUN_DIR`` can regenerate it at any time, and a reader
can check every number against those files. Sections: the totals before and after; the
rank–frequency curve of pairs per query before and after (log–log); the share of matches held
by the largest 1% and 10% of queries; how many queries fall in each size bucket; the largest and
the rarest queries; the queries of the list that matched nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import fsspec
import numpy as np

from wit_builder.io.json_files import read_json
from wit_builder.report.svg import Series, bar_chart, compact, loglog_chart
from wit_builder.schemas import read_table

BEFORE, AFTER = "#2c6fbb", "#e67e22"
TABLE_ROWS = 20
UNMATCHED_SHOWN = 200


@dataclass(frozen=True)
class ReportWording:
    """What the page calls things: the balance stage reports on candidate pairs, the shard stage
    on the downloaded samples that are in the shards."""

    title: str
    items: str  # plural noun of what is counted
    files: str  # the input files
    lede: str  # how to read the page, after the rule


BALANCE_WORDING = ReportWording("Balance report", "candidate pairs", "candidate file(s)", "")
SHARD_WORDING = ReportWording(
    "Final balance: what is in the shards",
    "downloaded samples",
    "sample file(s)",
    "Before: the samples the download stage kept; after: the samples written into the shards.",
)


@dataclass(frozen=True)
class QueryTable:
    """The per-query columns of ``report/balance.parquet``, largest first."""

    query: list[str]
    source: list[str | None]
    matched: np.ndarray
    kept: np.ndarray
    p_keep: np.ndarray

    @classmethod
    def read(cls, path: str) -> QueryTable:
        table = read_table(path, "balance_report").sort_by(
            [("matched", "descending"), ("kept", "descending"), ("query", "ascending")]
        )
        return cls(
            table.column("query").to_pylist(),
            table.column("source").to_pylist(),
            table.column("matched").to_numpy(),
            table.column("kept").to_numpy(),
            table.column("p_keep").to_numpy(),
        )


def size_buckets(per_query: int) -> list[tuple[str, int, int]]:
    """(label, low, high) buckets: 0, 1–10, 11–100, ... below t, then ≥ t (high inclusive)."""
    buckets = [("0", 0, 0)]
    low, high = 1, 10
    while high < per_query - 1:
        buckets.append((f"{low:,}–{high:,}", low, high))
        low, high = high + 1, high * 10
    if low <= per_query - 1:
        buckets.append((f"{low:,}–{per_query - 1:,}", low, per_query - 1))
    buckets.append((f"≥ {per_query:,}", per_query, math.inf))  # type: ignore[arg-type]
    return buckets


def bucket_counts(values: np.ndarray, buckets: list[tuple[str, int, int]]) -> list[int]:
    return [int(((values >= low) & (values <= high)).sum()) for _, low, high in buckets]


def top_share(values: np.ndarray, fraction: float, population: int) -> float:
    """Share of the total held by the largest ``fraction`` of ``population`` queries."""
    total = values.sum()
    if not total or not population:
        return 0.0
    k = max(1, math.ceil(fraction * population))
    return float(np.sort(values)[::-1][:k].sum() / total)


def rank_curve(values: np.ndarray, points: int = 400) -> tuple[list[float], list[float]]:
    """(rank, value) of the values sorted largest first, thinned to ~``points`` ranks spaced
    evenly on a log scale (the curve is monotone, so nothing is lost to the eye)."""
    ordered = np.sort(values[values > 0])[::-1]
    if not len(ordered):
        return [], []
    ranks = np.unique(np.round(np.geomspace(1, len(ordered), points)).astype(np.int64))
    return ranks.tolist(), ordered[ranks - 1].astype(float).tolist()


def html_table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    head = "".join(f'<th class="{"num" if i in numeric else ""}">{escape(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"num" if i in numeric else ""}">{cell}</td>' for i, cell in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _query_rows(table: QueryTable, indices: list[int]) -> list[list[str]]:
    return [
        [
            f"<code>{escape(table.query[i])}</code>",
            escape(table.source[i] or "—"),
            f"{int(table.matched[i]):,}",
            f"{int(table.kept[i]):,}",
            f"{table.p_keep[i]:.4f}".rstrip("0").rstrip("."),
        ]
        for i in indices
    ]


def _source_rows(table: QueryTable) -> list[list[str]]:
    """Per source of the query list: queries, how many matched, matches before and after."""
    rows = []
    sources = np.array([source or "not in the list" for source in table.source], dtype=object)
    for source in sorted(set(sources.tolist())):
        mask = sources == source
        rows.append([
            escape(source), f"{int(mask.sum()):,}", f"{int((table.matched[mask] > 0).sum()):,}",
            f"{int(table.matched[mask].sum()):,}", f"{int(table.kept[mask].sum()):,}",
        ])  # fmt: skip
    return rows


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 2rem auto;
       max-width: 62rem; padding: 0 1.5rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.lede { color: #555; margin-top: 0; } .note { color: #555; font-size: .9rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .92rem; }
th, td { padding: .25rem .7rem; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { background: #f6f6f6; font-weight: 600; } .num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .6rem 1rem; min-width: 8.5rem; }
.card b { display: block; font-size: 1.4rem; } .card span { color: #555; font-size: .85rem; }
.warn { background: #fff4e5; border: 1px solid #f0c36d; padding: .6rem 1rem; border-radius: 6px; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5rem; } code { font-size: .9em; }
.unmatched { columns: 4; font-size: .85rem; } svg { max-width: 100%; height: auto; }
"""


def render_balance_report(stats: dict, table: QueryTable, wording: ReportWording = BALANCE_WORDING) -> str:
    """The report page as one HTML string (inline CSS and SVG, nothing fetched). Without a cap
    (``per_query`` null: shards written without ``--per-query``) it shows the balance as it is."""
    rules = stats["rules"]
    t, oversample = rules["per_query"], rules.get("oversample", 1.0)
    largest = int(table.matched.max()) if len(table.matched) else 0
    bucket_top = t or max(largest + 1, 2)
    pairs_in, kept = stats["pairs_in"], stats["kept"]
    matched_any = int((table.matched > 0).sum())
    kept_any = int((table.kept > 0).sum())
    capped = int((table.p_keep < 1).sum())
    queries = stats.get("queries", {})

    cards = [
        (f"{pairs_in:,}", f"{wording.items} in"),
        (f"{kept:,}", f"pairs kept ({_percent(kept, pairs_in)})"),
        (f"{stats['dropped']['over_cap']:,}", "dropped over the cap"),
        (f"{matched_any:,}", "queries with ≥ 1 match"),
    ]
    if t:
        cards.append((f"{capped:,}", f"queries capped (n > {compact(oversample * t)})"))
    totals = [
        [wording.items.capitalize(), f"{pairs_in:,}", f"{kept:,}"],
        ["Query–pair matches", f"{int(table.matched.sum()):,}", f"{int(table.kept.sum()):,}"],
        ["Queries with at least one pair", f"{matched_any:,}", f"{kept_any:,}"],
        ["Largest query (pairs)", f"{int(table.matched.max()) if len(table.matched) else 0:,}",
         f"{int(table.kept.max()) if len(table.kept) else 0:,}"],
    ]  # fmt: skip
    if queries.get("in_list") is not None:
        totals.append(["Queries in the list", f"{queries['in_list']:,}", f"{queries['in_list']:,}"])
    shares = [
        [f"Top {label} of queries ({max(1, math.ceil(fraction * matched_any)):,})",
         _percent(top_share(table.matched, fraction, matched_any), 1),
         _percent(top_share(table.kept, fraction, matched_any), 1)]
        for label, fraction in (("1%", 0.01), ("10%", 0.10))
    ]  # fmt: skip

    before_x, before_y = rank_curve(table.matched)
    after_x, after_y = rank_curve(table.kept)
    curve = loglog_chart(
        [Series("before: matched", before_x, before_y, BEFORE), Series("after: kept", after_x, after_y, AFTER)],
        "Pairs per query, by rank",
        "query rank (largest first)",
        "pairs",
        reference=(t, f"t = {t:,}") if t else None,
    )
    buckets = size_buckets(bucket_top)
    before_buckets = bucket_counts(table.matched, buckets)
    after_buckets = bucket_counts(table.kept, buckets)
    bars = bar_chart(
        [label for label, _, _ in buckets],
        [("before: matched", before_buckets, BEFORE), ("after: kept", after_buckets, AFTER)],
        "How many queries have how many pairs",
        "pairs per query",
        "queries",
    )
    bucket_rows = [
        [label, f"{b:,}", f"{a:,}"] for (label, _, _), b, a in zip(buckets, before_buckets, after_buckets, strict=True)
    ]

    listed = [i for i in range(len(table.query)) if table.matched[i] > 0]
    largest = listed[:TABLE_ROWS]
    rarest = sorted(listed, key=lambda i: (table.matched[i], table.query[i]))[:TABLE_ROWS]
    unmatched = sorted(table.query[i] for i in range(len(table.query)) if table.matched[i] == 0)
    query_headers = ["query", "source", "matched", "kept", "p_keep"]

    warnings = ""
    if stats.get("unreadable_files"):
        items = "".join(
            f"<li><code>{escape(f['path'])}</code>: {escape(f['error'])}</li>" for f in stats["unreadable_files"]
        )
        warnings = (
            f'<p class="warn"><b>Files that could not be read</b> (none of their pairs is counted):</p><ul>{items}</ul>'
        )
    if not stats.get("adds_up", True):
        warnings += '<p class="warn">The counts do not add up: pairs in ≠ kept + dropped. See stats.json.</p>'
    if queries.get("in_list") is None:
        unmatched_section = "<p>No query list was given, so the queries that matched nothing are not known.</p>"
    else:
        shown = "".join(f"<div><code>{escape(q)}</code></div>" for q in unmatched[:UNMATCHED_SHOWN])
        more = len(unmatched) - UNMATCHED_SHOWN
        unmatched_section = (
            f"<p>{len(unmatched):,} of {queries['in_list']:,} queries in the list matched none of the {wording.items} "
            f"({_percent(len(unmatched), queries['in_list'])}).</p>"
            f'<div class="unmatched">{shown}</div>'
            + (
                f'<p class="note">… and {more:,} more: rows with matched = 0 in report/balance.parquet.</p>'
                if more > 0
                else ""
            )
        )

    above = table.kept > t if t else np.zeros(len(table.kept), bool)
    if not t:
        above_note = "No cap was applied: the curve shows how the queries share the samples."
    elif above.any():
        worst = int(np.argmax(table.kept))
        above_note = (
            f"{int(above.sum()):,} queries keep more than t after balancing; the most, "
            f"<code>{escape(table.query[worst])}</code>, keeps {int(table.kept[worst]):,} "
            f"({table.kept[worst] / t:.1f}·t). A query's kept count includes the pairs that another of their "
            "queries kept (the CLIP/MetaCLIP rule keeps a pair when any of its queries keeps it), so head "
            "queries that share captions with rare ones keep more than their own draws. Each query's own draws "
            "keep about min(n, t)."
        )
    else:
        above_note = "No query keeps more than t after balancing."
    by_source = _source_rows(table)
    oversampled = f", oversampled ×{oversample:g}" if oversample != 1 else ""
    factor = f"{oversample:g}·" if oversample != 1 else ""
    if t:
        rule = (
            f"At most about t = {t:,} pairs per query{oversampled}; seed {rules['seed']}; "
            f"{stats['files_read']:,} {wording.files} read. A query matched by n pairs keeps each with "
            f"probability min(1, {factor}t/n); a pair is kept when any of its queries keeps it."
        )
    else:
        rule = f"No per-query cap; {stats['files_read']:,} {wording.files} read."
    dropped = ", ".join(f"{reason.replace('_', ' ')} {count:,}" for reason, count in stats["dropped"].items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(wording.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>
<body>
<h1>{escape(wording.title)}</h1>
<p class="lede">{rule} {wording.lede}</p>
{warnings}
<div class="cards">{"".join(f"<div class='card'><b>{v}</b><span>{escape(k)}</span></div>" for v, k in cards)}</div>

<h2>Totals</h2>
{html_table(["", "before", "after"], totals, {1, 2})}
<p class="note">Every one is kept or dropped ({escape(dropped)});
the counts {"add up" if stats.get("adds_up") else "do NOT add up"}.
A pair that matches several queries counts once per query in "query–pair matches".</p>

<h2>Rank–frequency</h2>
{curve}
<p class="note">{above_note}</p>

<h2>By query source</h2>
{html_table(["source", "queries", "with a match", "matches before", "matches after"], by_source, {1, 2, 3, 4})}

<h2>Concentration</h2>
{html_table(["share of query–pair matches held by", "before", "after"], shares, {1, 2})}

<h2>Queries by number of pairs</h2>
{bars}
{html_table(["pairs per query", "queries before", "queries after"], bucket_rows, {1, 2})}

<div class="cols">
<div><h2>Largest queries</h2>{html_table(query_headers, _query_rows(table, largest), {2, 3, 4})}</div>
<div><h2>Rarest queries</h2>{html_table(query_headers, _query_rows(table, rarest), {2, 3, 4})}</div>
</div>

<h2>Queries that matched nothing</h2>
{unmatched_section}
<p class="note">Generated by <code>wit-builder report</code> from report/balance.parquet and stats.json.</p>
</body></html>
"""


def write_balance_report(balance_dir: str, wording: ReportWording = BALANCE_WORDING) -> str:
    """Render ``report/balance.html`` in a balance (or shard) stage's folder; returns its path."""
    balance_dir = balance_dir.rstrip("/")
    stats = read_json(f"{balance_dir}/stats.json")
    table = QueryTable.read(f"{balance_dir}/report/balance.parquet")
    path = f"{balance_dir}/report/balance.html"
    with fsspec.open(path, "wt", encoding="utf-8") as handle:
        handle.write(render_balance_report(stats, table, wording))
    return path
