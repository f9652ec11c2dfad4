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

import numpy as np

from wit_builder.atomic import write_atomically
from wit_builder.io.json_files import read_json
from wit_builder.report.svg import Series, bar_chart, compact, loglog_chart
from wit_builder.report.templating import Markup, render, style
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
    lang: list[str | None] | None = None  # a worldwide list's language per query; None: English only

    @classmethod
    def read(cls, path: str) -> QueryTable:
        table = read_table(path, "balance_report").sort_by(
            [("matched", "descending"), ("kept", "descending"), ("query", "ascending")]
        )
        langs = table.column("lang").to_pylist() if "lang" in table.column_names else []
        return cls(
            table.column("query").to_pylist(),
            table.column("source").to_pylist(),
            table.column("matched").to_numpy(),
            table.column("kept").to_numpy(),
            table.column("p_keep").to_numpy(),
            langs if any(langs) else None,
        )

    def language(self, index: int) -> str:
        """The query's language (``en`` where a worldwide list's row names none)."""
        return (self.lang[index] if self.lang else None) or "en"


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


def _query_rows(table: QueryTable, indices: list[int]) -> list[list]:
    """A query table's rows; a worldwide list's carry each query's language (the same "0" is a
    query in every language)."""
    return [
        [
            table.query[i],
            *([table.language(i)] if table.lang else []),
            table.source[i] or "—",
            int(table.matched[i]),
            int(table.kept[i]),
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
        matched, kept = table.matched[mask], table.kept[mask]
        rows.append([source, int(mask.sum()), int((matched > 0).sum()), int(matched.sum()), int(kept.sum())])
    return rows


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def render_balance_report(stats: dict, table: QueryTable, wording: ReportWording = BALANCE_WORDING) -> str:
    """The report page as one HTML string (inline CSS and SVG, nothing fetched)."""
    return render("balance.html.j2", **balance_page(stats, table, wording))


def balance_page(stats: dict, table: QueryTable, wording: ReportWording = BALANCE_WORDING) -> dict:
    """What the page shows, computed: totals, shares, curves, buckets, the largest, rarest and
    unmatched queries. Without a cap (``per_query`` null: shards written without
    ``--per-query``) it shows the balance as it is."""
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
        [wording.items.capitalize(), pairs_in, kept],
        ["Query–pair matches", int(table.matched.sum()), int(table.kept.sum())],
        ["Queries with at least one pair", matched_any, kept_any],
        ["Largest query (pairs)", largest, int(table.kept.max()) if len(table.kept) else 0],
    ]
    if queries.get("in_list") is not None:
        totals.append(["Queries in the list", queries["in_list"], queries["in_list"]])
    shares = [
        [
            f"Top {label} of queries ({max(1, math.ceil(fraction * matched_any)):,})",
            _percent(top_share(table.matched, fraction, matched_any), 1),
            _percent(top_share(table.kept, fraction, matched_any), 1),
        ]
        for label, fraction in (("1%", 0.01), ("10%", 0.10))
    ]

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
    listed = [i for i in range(len(table.query)) if table.matched[i] > 0]
    rarest = sorted(listed, key=lambda i: (table.matched[i], table.query[i]))[:TABLE_ROWS]
    unmatched = [
        f"{table.query[i]} ({table.language(i)})" if table.lang else table.query[i]
        for i in sorted(
            (i for i in range(len(table.query)) if table.matched[i] == 0),
            key=lambda i: (table.language(i), table.query[i]),
        )
    ]
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
    in_list = queries.get("in_list")
    return {
        "title": wording.title,
        "style": Markup(style()),
        "rule": rule,
        "lede": wording.lede,
        "unreadable_files": stats.get("unreadable_files", []),
        "counts_add_up": stats.get("adds_up", True),
        "cards": cards,
        "totals": totals,
        "dropped": ", ".join(f"{reason.replace('_', ' ')} {count:,}" for reason, count in stats["dropped"].items()),
        "curve": Markup(curve),
        "above_note": _above_note(table, t),
        "by_source": _source_rows(table),
        "shares": shares,
        "bars": Markup(bars),
        "buckets": [[label, b, a] for (label, _, _), b, a in zip(buckets, before_buckets, after_buckets, strict=True)],
        "query_headers": ["query", *(["language"] if table.lang else []), "source", "matched", "kept", "p_keep"],
        "query_numeric": [3, 4, 5] if table.lang else [2, 3, 4],
        "largest": _query_rows(table, listed[:TABLE_ROWS]),
        "rarest": _query_rows(table, rarest),
        "items": wording.items,
        "in_list": in_list,
        "unmatched_count": len(unmatched),
        "unmatched_share": _percent(len(unmatched), in_list) if in_list else "—",
        "unmatched": unmatched[:UNMATCHED_SHOWN],
        "more": len(unmatched) - UNMATCHED_SHOWN,
    }


def _above_note(table: QueryTable, t: int | None) -> Markup:
    """Why a query can keep more than t after balancing, and which keeps the most."""
    above = table.kept > t if t else np.zeros(len(table.kept), bool)
    if not t:
        return Markup("No cap was applied: the curve shows how the queries share the samples.")
    if not above.any():
        return Markup("No query keeps more than t after balancing.")
    worst = int(np.argmax(table.kept))
    return Markup(
        "{count:,} queries keep more than t after balancing; the most, <code>{query}</code>, keeps {kept:,} "
        "({ratio:.1f}·t). A query's kept count includes the pairs that another of their queries kept (the "
        "CLIP/MetaCLIP rule keeps a pair when any of its queries keeps it), so head queries that share captions "
        "with rare ones keep more than their own draws. Each query's own draws keep about min(n, t)."
    ).format(count=int(above.sum()), query=table.query[worst], kept=int(table.kept[worst]), ratio=table.kept[worst] / t)


def shard_figures(stats: dict) -> dict:
    """The balance page's figures from the shard stage's own ``stats.json``: its samples in, its
    samples written, and each sample not written by why (the final cap, or a rejection). The
    shard stage's stats keep their own names; the page translates, not the stage."""
    return {
        **stats,
        "pairs_in": stats["samples_in"],
        "kept": stats["written"],
        "dropped": {"over_cap": stats["capped"], **stats["rejected"]},
        "files_read": stats.get("files_read", stats.get("inputs", {}).get("sample_files", 0)),
    }


def write_balance_report(balance_dir: str, wording: ReportWording | None = None, stage: str | None = None) -> str:
    """Render ``report/balance.html`` in a balance (or shard) stage's folder; returns its path.
    ``stage``: whose folder it is, when the caller knows (else read from the folder's claim);
    the page's wording follows it unless given."""
    balance_dir = balance_dir.rstrip("/")
    from wit_builder.io.stage_folders import stage_of

    stage = stage or (stage_of(balance_dir) or ("balance", ""))[0]
    wording = wording or (SHARD_WORDING if stage == "shard" else BALANCE_WORDING)
    stats = read_json(f"{balance_dir}/stats.json", f"stats.{stage}")
    stats = shard_figures(stats) if stage == "shard" else stats
    table = QueryTable.read(f"{balance_dir}/report/balance.parquet")
    path = f"{balance_dir}/report/balance.html"
    write_atomically(path, render_balance_report(stats, table, wording))
    return path
