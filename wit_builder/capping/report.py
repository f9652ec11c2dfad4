"""The cap's per-query report: every query matched, kept or listed, with its source from the
query list, its language and its keep probability, joined shard by shard from the matched and
kept count blobs (``report/balance.parquet``), and the query totals for ``stats.json``. The
balance and shard stages write it the same way; ``report.balance`` renders it as a page."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam import pvalue

from wit_builder.capping.languages import ENGLISH, SEPARATOR, key_language, key_query
from wit_builder.capping.rules import BalanceRules
from wit_builder.capping.sampling import keep_probability
from wit_builder.capping.transforms import cap_of, language_caps
from wit_builder.counting import merged
from wit_builder.hashing import shard_of
from wit_builder.io.query_list import load_query_rows
from wit_builder.schemas import load_schema, write_table_omitting_nulls
from wit_builder.stage_stats import run_once


def sources_by_shard(path: str, shards: int) -> Iterator[tuple[int, dict[str, str | None]]]:
    """The query list as (shard, {key: source}), sharded like the count blobs (a worldwide
    list's keys carry the language, ``languages.match_keys``)."""
    parts: dict[int, dict[str, str | None]] = {}
    for query, source, lang in load_query_rows(path):
        key = f"{lang}\t{query}" if lang else query
        parts.setdefault(shard_of(key, shards), {}).setdefault(key, source)
    yield from parts.items()


def report_table(element: tuple[int, dict], rules: BalanceRules, thresholds: dict[str, dict]) -> pa.Table:
    """The report rows of one shard, as a table: every query matched, kept or listed there (a
    worldwide list's with their language, and its language's keep probability). Columns, not
    row dicts: the runner weighs every object it caches, and 100k dicts cost it a second."""
    _, grouped = element
    matched, kept = merged(grouped["matched"]), merged(grouped["kept"])
    sources: dict[str, str | None] = {}
    for part in grouped["source"]:
        sources.update(part)
    keys = sorted(matched.keys() | kept.keys() | sources.keys())
    n_matched = [matched.get(key, 0) for key in keys]
    cap = cap_of(thresholds, rules.per_query)
    worldwide = any(SEPARATOR in key for key in keys)
    columns = {
        "query": [key_query(key) for key in keys] if worldwide else keys,
        "source": [sources.get(key) for key in keys],
        "matched": n_matched,
        "kept": [kept.get(key, 0) for key in keys],
        "p_keep": [keep_probability(n, cap(key), rules.oversample) for key, n in zip(keys, n_matched, strict=True)],
        "lang": [key_language(key) if SEPARATOR in key else None for key in keys] if worldwide else [None] * len(keys),
    }
    return pa.table(columns, schema=load_schema("balance_report"))


def _count(mask: pa.Array) -> int:
    return int(pc.sum(mask).as_py() or 0)


def write_report(
    shard_tables: list[pa.Table], out_dir: str, rules: BalanceRules, has_query_list: bool, thresholds: dict
) -> dict:
    """``report/balance.parquet``, one row per query (largest first: matched, kept descending,
    then query and language); returns query totals, and each language's t, why, and its
    matched and kept pairs."""
    schema = load_schema("balance_report")
    table = pa.concat_tables([schema.empty_table(), *shard_tables])
    keys = pa.table(
        {
            "matched": table.column("matched"),
            "kept": table.column("kept"),
            "query": table.column("query"),
            "lang": pc.fill_null(table.column("lang"), ""),  # no language sorts first
        }
    )
    table = table.take(
        pc.sort_indices(
            keys, [("matched", "descending"), ("kept", "descending"), ("query", "ascending"), ("lang", "ascending")]
        )
    )
    path = f"{out_dir.rstrip('/')}/report/balance.parquet"
    write_table_omitting_nulls(table, path, "balance_report")
    was_matched = pc.greater(table.column("matched"), 0)
    is_capped = pc.less(table.column("p_keep"), 1.0)
    listed = pc.is_valid(table.column("source"))
    totals = {
        "in_list": _count(listed) if has_query_list else None,
        "matched": _count(was_matched),
        "capped": _count(is_capped),
        "matched_nothing": _count(pc.and_(listed, pc.invert(was_matched))) if has_query_list else None,
        "not_in_list": _count(pc.invert(listed)) if has_query_list else None,
    }
    if table.column("lang").null_count < table.num_rows:
        languages = {}
        lang = pc.fill_null(table.column("lang"), ENGLISH)
        for name, threshold in sorted(thresholds.items()):
            mine = pc.equal(lang, name)
            languages[name] = {
                **threshold,
                "queries_matched": _count(pc.and_(mine, was_matched)),
                "queries_capped": _count(pc.and_(mine, is_capped)),
                "matches": int(pc.sum(table.column("matched").filter(mine)).as_py() or 0),
                "kept_matches": int(pc.sum(table.column("kept").filter(mine)).as_py() or 0),
            }
        totals["languages"] = languages
    return totals


class PerQueryReport(beam.PTransform):
    """The per-query report's rows, from per-shard count blobs of matched and kept pairs and the
    query list (joined shard by shard): one table of rows per shard of the query space."""

    def __init__(self, rules: BalanceRules, query_list: str | None, thresholds):
        super().__init__()
        self.rules = rules
        self.query_list = query_list
        self.thresholds = thresholds  # the languages' caps, a singleton side input

    def expand(self, counts: dict[str, beam.PCollection]) -> beam.PCollection:
        pipeline = counts["matched"].pipeline
        listed = pipeline | "QueryList" >> beam.Create([self.query_list] if self.query_list else [])
        sources = listed | "ReadQueryList" >> beam.FlatMap(sources_by_shard, self.rules.count_shards)
        return (
            {"matched": counts["matched"], "kept": counts["kept"], "source": sources}
            | "JoinPerShard" >> beam.CoGroupByKey()
            | "ReportRows" >> beam.Map(report_table, self.rules, self.thresholds)
        )


def per_query_report(
    matched: beam.PCollection,
    kept: beam.PCollection,
    query_list: str | None,
    rules: BalanceRules,
    out_dir: str,
    caps: beam.PCollection | None = None,
) -> beam.PCollection:
    """``report/balance.parquet`` from the matched and kept count blobs; yields the query
    totals for ``stats.json``. The balance and shard runners' sink. ``caps``: the languages'
    thresholds (``language_caps``), derived here when not given."""
    caps = caps if caps is not None else language_caps(matched, rules)
    thresholds = pvalue.AsSingleton(caps)
    rows = {"matched": matched, "kept": kept} | "Report" >> PerQueryReport(rules, query_list, thresholds)
    return run_once(
        matched.pipeline,
        "WriteReport",
        write_report,
        pvalue.AsList(rows),
        out_dir,
        rules,
        query_list is not None,
        thresholds,
    )
