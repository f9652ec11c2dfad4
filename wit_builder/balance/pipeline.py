"""The balance stage as a Beam pipeline: two passes over the candidate files.

    candidates/part-*.parquet ─► pass 1: matches per query (count blobs, CombinePerKey, fan-out)
                 │                          │ queries with p < 1, as a side input
                 └────────────► pass 2: keep or drop each pair ─► balanced/part-NNNNN.parquet
                                            │ kept per query (count blobs)
    query list ─────────────────────────────┴─► join per shard ─► report/balance.parquet, stats.json

Per-query counts travel as one dict per (file, shard of the query space), not one element per
query (``wit_builder.counting``): at 500k queries and thousands of files, one element per
query and file would be billions of Beam elements.

Both passes work one candidate file at a time and read it in record batches, so a worker's
memory depends on the batch size and the number of queries, never on the number of pairs. Pass
2 writes ``balanced/part-NNNNN.parquet`` for the N-th input file (sorted), rows in input order:
the output is byte-identical on any runner and worker count. The side input holds only the
queries whose keep probability is below 1 (matched more than F·t times): at most (all
matches) / t entries, a few tens of thousands for a web-scale pool; every other query keeps all
its pairs and needs no lookup.

One core serves both ways in: ``two_passes`` runs pass 1 (``CountMatchesFn``) and pass 2 over
any units of candidates with the same rule (``sampling.keep_rows``). ``wit-builder balance``'s
units are candidate files, pass 2 writing each into its balanced file (``BalanceFileFn``);
``BalancePerQuery``'s are batches of rows from any PCollection (``KeepInBatchesFn``).

A file that cannot be read (not Parquet, truncated, wrong columns) is listed in
``stats.json`` under ``unreadable_files`` with its error, and none of its pairs is counted:
counts are sent only after a whole file was read, so ``pairs_in = kept + dropped`` holds for
the files that were read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam import pvalue
from apache_beam.transforms.window import GlobalWindows

from wit_builder.balance.languages import (
    ENGLISH,
    SEPARATOR,
    histograms,
    key_language,
    key_query,
    language_thresholds,
    match_keys,
    without_malformed,
)
from wit_builder.balance.sampling import CappedQueries, keep_probability, keep_rows
from wit_builder.balance.settings import BalanceRules
from wit_builder.counting import SumCountDicts, merged, split_by_shard
from wit_builder.hashing import shard_of
from wit_builder.io.chunks import READ_ERRORS, parquet_columns, parquet_rows
from wit_builder.io.json_files import write_json
from wit_builder.io.query_list import load_query_rows
from wit_builder.io.upstream import query_list_record
from wit_builder.schemas import (
    load_schema,
    parquet_writer,
    read_batches,
    table_from_rows,
    write_table_omitting_nulls,
)
from wit_builder.stage_stats import STATS, StatsDoFn, run_once

ERRORS = "errors"
KEPT_COUNTS = "kept_counts"


@dataclass(frozen=True)
class BalanceInputs:
    candidate_files: tuple[str, ...]
    queries: str | None = None  # the query list: sources, and queries that matched nothing
    unreadable: tuple[tuple[str, str], ...] = ()  # (path, error) of files left out before the run
    rows: tuple[int, ...] = ()  # each candidate file's rows, from its footer: the pairs that came in


class KeyCounts:
    """Pairs per key, summed in Arrow: a batch's keys are counted by ``value_counts`` and the
    parts are summed by one ``group_by`` when read (a ``Counter.update`` per batch spent more
    time in Python than the rest of pass 1). Parts are folded together every ``fold`` adds, so
    memory stays at about two sets of distinct keys."""

    fold = 16

    def __init__(self) -> None:
        self.parts: list[pa.Table] = []

    def add(self, matches: pa.Array | pa.ChunkedArray) -> None:
        """Counts every key of a list<string> array (the ``matches`` of a batch)."""
        counted = pc.value_counts(pc.list_flatten(matches))
        self.parts.append(pa.table({"key": counted.field("values"), "n": counted.field("counts")}))
        if len(self.parts) >= self.fold:
            self.parts = [self._summed()]

    def update(self, other: KeyCounts) -> None:
        self.parts.extend(other.parts)
        if len(self.parts) >= self.fold:
            self.parts = [self._summed()]

    def _summed(self) -> pa.Table:
        table = pa.concat_tables(self.parts)
        if len(self.parts) == 1:
            return table
        return table.group_by("key").aggregate([("n", "sum")]).rename_columns(["key", "n"])

    def to_dict(self) -> dict[str, int]:
        if not self.parts:
            return {}
        table = self._summed()
        return dict(zip(table.column("key").to_pylist(), table.column("n").to_pylist(), strict=True))


class CountMatchesFn(beam.DoFn):
    """Pass 1, for both paths: (shard, {query: pairs that matched it}) over a bundle's units of
    candidates, sent when the bundle ends. A unit is whatever ``tables_of`` reads into Arrow
    tables: a candidate file (``wit-builder balance``, the shard stage) or one batch of rows
    (``BalancePerQuery``). A unit's counts join the bundle's only once it was read whole; a
    unit that cannot be read is named on the errors output instead."""

    def __init__(self, tables_of: Callable[[Any], Iterable[pa.Table]], shards: int):
        self.tables_of = tables_of
        self.shards = shards

    def start_bundle(self) -> None:
        self.matched = KeyCounts()

    def process(self, unit: Any) -> Iterator:
        counts = KeyCounts()
        try:
            for table in self.tables_of(unit):
                counts.add(match_keys(without_malformed(table)[0]))  # pass 2 counts what it leaves out
        except READ_ERRORS as error:
            name = self.tables_of.name(unit) if hasattr(self.tables_of, "name") else str(unit)
            yield pvalue.TaggedOutput(ERRORS, (name, f"{type(error).__name__}: {error}"))
            return
        self.matched.update(counts)

    def finish_bundle(self) -> Iterator:
        for blob in split_by_shard(self.matched.to_dict(), self.shards):
            yield GlobalWindows.windowed_value(blob)
        self.matched = KeyCounts()


class MatchesOfFiles:
    """A candidate (or samples) file's ``matches`` column, read in record batches."""

    def __init__(self, schema: str, batch_rows: int):
        self.schema = schema
        self.batch_rows = batch_rows

    def __call__(self, path: str) -> Iterator[pa.Table]:
        columns = ["matches", "lang"] if "lang" in load_schema(self.schema).names else ["matches"]
        return read_batches(path, self.schema, columns, self.batch_rows)

    def name(self, path: str) -> str:
        return path


def _one_table(table: pa.Table) -> tuple[pa.Table]:
    return (table,)


def cap_of(thresholds: dict[str, dict], per_query: int | None):
    """key -> the t of its language (``languages.language_thresholds``), ``per_query`` for one
    the thresholds do not name."""

    def cap(key: str) -> int | None:
        found = thresholds.get(key_language(key))
        return found["t"] if found else per_query

    return cap


class CappedSideInput:
    """The over-cap side input as ``CappedQueries``, built once per worker and side-input value."""

    def __init__(self, rules: BalanceRules):
        self.rules = rules
        self._capped: CappedQueries | None = None
        self._built_from: object = None

    def get(self, over_cap: dict[str, int], thresholds: dict[str, dict] | None = None) -> CappedQueries:
        if self._capped is None or self._built_from is not over_cap:
            rules = self.rules
            cap = cap_of(thresholds or {}, rules.per_query)
            self._capped = CappedQueries.build(over_cap, rules.per_query, rules.oversample, rules.seed, cap)
            self._built_from = over_cap
        return self._capped


def filter_table(table: pa.Table, capped: CappedQueries, counts: Counter, kept_per_query: KeyCounts) -> pa.Table:
    """The kept rows of a batch of candidates; adds to the stage's counts and to the kept
    pairs per query (per language key, ``languages.match_keys``). A row whose matches hold a
    null is dropped as ``malformed_matches``."""
    counts["pairs_in"] += table.num_rows
    table, malformed = without_malformed(table)
    counts["malformed_matches"] += malformed
    matches = table.column("matches")
    keys = match_keys(table)
    keep = keep_rows(table.column("uid"), keys, capped)
    no_matches = int(pc.equal(pc.list_value_length(matches), 0).to_numpy(zero_copy_only=False).sum())
    kept = table.filter(pa.array(keep))
    kept_per_query.add(keys.filter(pa.array(keep)))
    counts["kept"] += kept.num_rows
    counts["no_matches"] += no_matches
    counts["over_cap"] += table.num_rows - kept.num_rows - no_matches
    return kept


def output_path(out_dir: str, index: int) -> str:
    return f"{out_dir.rstrip('/')}/balanced/part-{index:05d}.parquet"


class BalanceFileFn(StatsDoFn):
    """Pass 2 over files: one candidate file filtered into its balanced file; (shard, {query:
    kept}) on ``KEPT_COUNTS`` when the bundle ends, summed over its files that were written.

    The file is written under a temporary name and renamed when complete, so a failed or
    retried file never leaves a partial output behind.
    """

    def __init__(self, rules: BalanceRules, out_dir: str):
        self.rules = rules
        self.out_dir = out_dir
        self.capped = CappedSideInput(rules)

    def start_bundle(self) -> None:
        super().start_bundle()
        self.kept_per_query = KeyCounts()  # the bundle's files that were written whole

    def finish_bundle(self) -> Iterator:
        yield from super().finish_bundle()
        for blob in split_by_shard(self.kept_per_query.to_dict(), self.rules.count_shards):
            yield pvalue.TaggedOutput(KEPT_COUNTS, GlobalWindows.windowed_value(blob))
        self.kept_per_query = KeyCounts()

    def process(self, item: tuple[int, str], over_cap: dict[str, int], thresholds: dict[str, dict]) -> Iterator:
        index, path = item
        capped = self.capped.get(over_cap, thresholds)
        final = output_path(self.out_dir, index)
        kept_per_query = KeyCounts()
        counts: Counter[str] = Counter()
        try:
            # A file of an English-only list has no lang column, and its balanced file none either.
            without = () if "lang" in parquet_columns(path) else ("lang",)
            with parquet_writer(final, "balanced", without) as write:  # whole, or no file
                for table in read_batches(path, "candidates", batch_rows=self.rules.batch_rows):
                    kept = filter_table(table, capped, counts, kept_per_query)
                    write(kept.drop_columns(list(without)) if without else kept)
            counts["rows_written"] = parquet_rows(final)  # counted in the output, not in the filter
        except READ_ERRORS as error:
            yield pvalue.TaggedOutput(ERRORS, (path, f"{type(error).__name__}: {error}"))
            return
        for name, value in counts.items():
            self.count(name, value)
        self.count("files_read")
        self.kept_per_query.update(kept_per_query)


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


def write_stats(
    out_dir: str, inputs: BalanceInputs, rules: BalanceRules, stats: dict, errors: list, queries: dict
) -> dict:
    """``stats.json``. The pairs that came in are the readable files' rows by their footers; the
    kept ones are the rows of the written files by theirs; ``adds_up`` says whether those and the
    drops account for each other (a file that failed while being read counts as ``unreadable``)."""
    names = ("rows_written", "over_cap", "no_matches", "malformed_matches", "files_read")
    counts = {name: stats.get(name, 0) for name in names}
    unreadable = {path: message for path, message in sorted([*inputs.unreadable, *errors])}  # both passes report
    rows_of = dict(zip(inputs.candidate_files, inputs.rows or [0] * len(inputs.candidate_files), strict=True))
    failed = sum(rows_of.get(path, 0) for path in unreadable)
    pairs_in = sum(rows_of.values()) if inputs.rows else stats.get("pairs_in", 0)
    dropped = {
        "over_cap": counts["over_cap"],
        "no_matches": counts["no_matches"],
        **({"malformed_matches": counts["malformed_matches"]} if counts["malformed_matches"] else {}),
        "unreadable": failed,
    }
    report = {
        "inputs": {
            "candidate_files": len(inputs.candidate_files) + len(inputs.unreadable),
            **query_list_record(inputs.queries),
        },
        "rules": asdict(rules),
        "pairs_in": pairs_in,
        "kept": counts["rows_written"],
        "dropped": dropped,
        "adds_up": pairs_in == counts["rows_written"] + sum(dropped.values()),
        "files_read": counts["files_read"],
        "unreadable_files": [{"path": path, "error": message} for path, message in unreadable.items()],
        "queries": queries,
    }
    write_json(f"{out_dir.rstrip('/')}/stats.json", report)
    return report


def count_matches(
    paths: beam.PCollection, rules: BalanceRules, schema: str = "candidates"
) -> tuple[beam.PCollection, beam.PCollection]:
    """Pass 1 on its own: (shard, {query: matched}) for every shard, and (path, error) per
    unreadable file, over files of ``schema`` (the shard stage counts its samples). The
    benchmark times it alone."""
    count_fn = CountMatchesFn(MatchesOfFiles(schema, rules.batch_rows), rules.count_shards)
    counted = paths | "CountMatches" >> beam.ParDo(count_fn).with_outputs(ERRORS, main="counts")
    matched = counted.counts | "SumMatches" >> sum_count_blobs(rules)
    return matched, counted[ERRORS]


def language_caps(matched: beam.PCollection, rules: BalanceRules) -> beam.PCollection:
    """A singleton: each language's t and why (``languages.language_thresholds``), from the
    histogram of its entries' match counts."""
    summed = matched | "Histograms" >> beam.FlatMap(histograms) | "SumHistograms" >> beam.CombinePerKey(SumCountDicts())
    return run_once(matched.pipeline, "LanguageCaps", language_thresholds, pvalue.AsList(summed), rules.per_query)


def over_cap_counts(matched: beam.PCollection, rules: BalanceRules, thresholds=None) -> beam.PCollection:
    """(key, matched) for the queries whose keep probability (with their language's t, from
    the ``thresholds`` singleton; without it, ``per_query``) is below 1: pass 2's side input."""

    def over(shard, caps=None):
        cap = cap_of(caps or {}, rules.per_query)
        limits = [t for t in (rules.per_query, *(found["t"] for found in (caps or {}).values())) if t is not None]
        if not limits:
            return []
        floor = rules.oversample * min(limits)  # no key matched at most this often is over its cap
        return [
            (q, n) for q, n in shard[1].items() if n > floor and keep_probability(n, cap(q), rules.oversample) < 1.0
        ]

    if thresholds is None:
        return matched | "OverCap" >> beam.FlatMap(over)
    return matched | "OverCap" >> beam.FlatMap(over, thresholds)


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


def sum_count_blobs(rules: BalanceRules) -> beam.PTransform:
    combine = beam.CombinePerKey(SumCountDicts())
    return combine.with_hot_key_fanout(rules.count_fanout) if rules.count_fanout > 1 else combine


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


class KeepInBatchesFn(StatsDoFn):
    """Pass 2 over candidate batches: the kept rows, counts, and (shard, {query: kept}) blobs."""

    def __init__(self, rules: BalanceRules):
        self.rules = rules
        self.capped = CappedSideInput(rules)

    def process(self, table: pa.Table, over_cap: dict[str, int], thresholds: dict[str, dict]) -> Iterator:
        counts: Counter[str] = Counter()
        kept_per_query = KeyCounts()
        yield from filter_table(table, self.capped.get(over_cap, thresholds), counts, kept_per_query).to_pylist()
        for name, value in counts.items():
            self.count(name, value)
        for blob in split_by_shard(kept_per_query.to_dict(), self.rules.count_shards):
            yield pvalue.TaggedOutput(KEPT_COUNTS, blob)


def two_passes(units: beam.PCollection, tables_of: Callable, keep: beam.DoFn, rules: BalanceRules) -> dict:
    """The balance, whatever its units: pass 1 counts each query's matches, pass 2 (``keep``,
    with the queries over the cap as a side input) keeps or drops every pair by
    ``sampling.keep_rows``. Returns the matched and kept count blobs (per shard), pass 2's main
    output, its stats, and the units that could not be read."""
    count_fn = CountMatchesFn(tables_of, rules.count_shards)
    counted = units | "CountMatches" >> beam.ParDo(count_fn).with_outputs(ERRORS, main="counts")
    matched = counted.counts | "SumMatches" >> sum_count_blobs(rules)
    caps = language_caps(matched, rules)
    over_cap = over_cap_counts(matched, rules, pvalue.AsSingleton(caps))
    kept = units | "Keep" >> beam.ParDo(keep, pvalue.AsDict(over_cap), pvalue.AsSingleton(caps)).with_outputs(
        STATS, ERRORS, KEPT_COUNTS, main="out"
    )
    return {
        "caps": caps,
        "matched": matched,
        "kept": kept[KEPT_COUNTS] | "SumKept" >> sum_count_blobs(rules),
        "out": kept.out,
        "stats": kept[STATS] | "SumStats" >> beam.CombinePerKey(sum),
        "errors": (counted[ERRORS], kept[ERRORS]) | "AllErrors" >> beam.Flatten(),
    }


class BalancePerQuery(beam.PTransform):
    """The balance stage over any PCollection of candidate rows (uid, url, text, page_url,
    source, matches), such as ``HarvestPairs``'s.

    Returns ``{"balanced": rows, "stats": (name, total), "report": [report rows] per shard}``:
    the kept rows; ``pairs_in``, ``kept``, ``over_cap`` and ``no_matches``; and one report row
    per query (query, source, matched, kept, p_keep), sources from ``query_list`` when given. It
    writes nothing. Rows are batched into Arrow tables of up to ``rules.batch_rows``, the unit
    the sampling rule works on. ``wit-builder balance`` runs the same rules on Parquet files
    read twice, streamed, so that no pair has to be held between the two passes.
    """

    def __init__(self, rules: BalanceRules | None = None, query_list: str | None = None):
        super().__init__()
        self.rules = rules or BalanceRules()
        self.query_list = query_list

    def expand(self, rows: beam.PCollection) -> dict[str, beam.PCollection]:
        rules = self.rules
        tables = (
            rows
            | "Batch" >> beam.BatchElements(max_batch_size=rules.batch_rows)
            | "ToTables" >> beam.Map(table_from_rows, "candidates")
        )
        balanced = two_passes(tables, _one_table, KeepInBatchesFn(rules), rules)
        report = (
            {"matched": balanced["matched"], "kept": balanced["kept"]}
            | "Report" >> PerQueryReport(rules, self.query_list, pvalue.AsSingleton(balanced["caps"]))
            | "AsRows" >> beam.Map(pa.Table.to_pylist)
        )
        return {"balanced": balanced["out"], "stats": balanced["stats"], "report": report}


def build_pipeline(pipeline: beam.Pipeline, inputs: BalanceInputs, rules: BalanceRules, out_dir: str):
    """The ``wit-builder balance`` pipeline over candidate files: writes ``balanced/``, the
    report and ``stats.json``."""
    # Create reshuffles its elements already (reshuffle=True), so the files spread over workers.
    files = pipeline | "CandidateFiles" >> beam.Create(list(enumerate(inputs.candidate_files)))
    balanced = two_passes(files, _FilesOfUnit(rules.batch_rows), BalanceFileFn(rules, out_dir), rules)
    queries = per_query_report(balanced["matched"], balanced["kept"], inputs.queries, rules, out_dir, balanced["caps"])
    return run_once(
        pipeline,
        "WriteStats",
        write_stats,
        out_dir,
        inputs,
        rules,
        pvalue.AsDict(balanced["stats"]),
        pvalue.AsList(balanced["errors"]),
        pvalue.AsSingleton(queries),
    )


class _FilesOfUnit(MatchesOfFiles):
    """Pass 1 of ``wit-builder balance``: its units are (index, path) pairs."""

    def __init__(self, batch_rows: int):
        super().__init__("candidates", batch_rows)

    def __call__(self, unit: tuple[int, str]) -> Iterator[pa.Table]:
        return super().__call__(unit[1])

    def name(self, unit: tuple[int, str]) -> str:
        return unit[1]
