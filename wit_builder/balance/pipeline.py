"""The balance stage as a Beam pipeline: two passes over the candidate files.

    candidates/part-*.parquet ─► pass 1: matches per query (count blobs, CombinePerKey, fan-out)
                 │                          │ queries with p < 1, as a side input
                 └────────────► pass 2: keep or drop each pair ─► balanced/part-NNNNN.parquet
                                            │ kept per query (count blobs)
    query list ─────────────────────────────┴─► join per shard ─► report/balance.parquet, stats.json

Both passes work one candidate file at a time and read it in record batches, so a worker's
memory depends on the batch size and the number of queries, never on the number of pairs. Pass
2 writes ``balanced/part-NNNNN.parquet`` for the N-th input file (sorted), rows in input order:
the output is byte-identical on any runner and worker count. The side input holds only the
queries whose keep probability is below 1 (matched more than F·t times): at most (all
matches) / t entries, a few tens of thousands for a web-scale pool; every other query keeps all
its pairs and needs no lookup.

The cap itself is ``wit_builder.capping``, which the shard stage wires too: ``two_passes`` runs
pass 1 and pass 2 over any units with the same rule (``capping.sampling.keep_rows``). Here
``wit-builder balance``'s units are candidate files, pass 2 writing each into its balanced file
(``BalanceFileFn``); ``BalancePerQuery``'s are batches of rows from any PCollection.

A file that cannot be read (not Parquet, truncated, wrong columns) is listed in
``stats.json`` under ``unreadable_files`` with its error, and none of its pairs is counted:
counts are sent only after a whole file was read, so ``pairs_in = kept + dropped`` holds for
the files that were read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import apache_beam as beam
import pyarrow as pa
from apache_beam import pvalue
from apache_beam.transforms.window import GlobalWindows

from wit_builder.capping.report import PerQueryReport, per_query_report
from wit_builder.capping.rules import BalanceRules
from wit_builder.capping.transforms import (
    ERRORS,
    KEPT_COUNTS,
    CappedSideInput,
    KeepInBatchesFn,
    KeyCounts,
    MatchesOfFiles,
    filter_table,
    two_passes,
)
from wit_builder.counting import split_by_shard
from wit_builder.io.chunks import READ_ERRORS, parquet_columns, parquet_rows
from wit_builder.io.json_files import write_json
from wit_builder.io.upstream import query_list_record
from wit_builder.schemas import parquet_writer, read_batches, sparse_left_out, table_from_rows
from wit_builder.stage_stats import StatsDoFn, run_once


@dataclass(frozen=True)
class BalanceInputs:
    candidate_files: tuple[str, ...]
    queries: str | None = None  # the query list: sources, and queries that matched nothing
    unreadable: tuple[tuple[str, str], ...] = ()  # (path, error) of files left out before the run
    rows: tuple[int, ...] = ()  # each candidate file's rows, from its footer: the pairs that came in


def _one_table(table: pa.Table) -> tuple[pa.Table]:
    return (table,)


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
            without = sparse_left_out(parquet_columns(path))
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
    write_json(f"{out_dir.rstrip('/')}/stats.json", report, schema="stats.balance")
    return report


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
