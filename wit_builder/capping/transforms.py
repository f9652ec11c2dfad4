"""The cap's two passes as Beam transforms, whatever the unit of work (a candidate file, a
samples file, a batch of rows):

- pass 1 (``CountMatchesFn``, ``count_matches``) counts each query's matches, per language key,
  into count blobs (one dict per shard of the query space, ``wit_builder.counting``), summed by
  ``sum_count_blobs``; ``language_caps`` derives each language's t from them, and
  ``over_cap_counts`` the queries whose keep probability is below 1: pass 2's side input;
- pass 2 keeps or drops every pair by ``sampling.keep_rows`` (``filter_table``; the balance
  stage's file writer and ``KeepInBatchesFn`` for batches), counting what it keeps per query.

``two_passes`` wires both over any units. Per-query counts travel as one dict per (unit, shard),
not one element per query: at 500k queries and thousands of files, one element per query and
file would be billions of Beam elements.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam import pvalue
from apache_beam.transforms.window import GlobalWindows

from wit_builder.capping.languages import histograms, key_language, language_thresholds, match_keys, without_malformed
from wit_builder.capping.rules import BalanceRules
from wit_builder.capping.sampling import CappedQueries, keep_probability, keep_rows
from wit_builder.counting import SumCountDicts, split_by_shard
from wit_builder.io.chunks import READ_ERRORS
from wit_builder.schemas import load_schema, read_batches
from wit_builder.stage_stats import STATS, StatsDoFn, run_once

ERRORS = "errors"
KEPT_COUNTS = "kept_counts"


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


def sum_count_blobs(rules: BalanceRules) -> beam.PTransform:
    combine = beam.CombinePerKey(SumCountDicts())
    return combine.with_hot_key_fanout(rules.count_fanout) if rules.count_fanout > 1 else combine


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
