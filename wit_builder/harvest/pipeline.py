"""The harvest stage as a Beam pipeline.

    WAT files ──┐                                     ┌─► candidates/part-NNNNN.parquet
    URL lists ──┴─► raw pairs ─► normalise ─► match ─► dedupe by URL ─┤
                        (every drop counted by reason)                └─► stats.json

Each input pair leaves exactly once: kept, or counted under one reason (``bad_url``,
``empty_text``, ``text_too_short``, ``text_too_long``, ``not_image_extension``, ``no_match``,
``duplicate_url``), so ``pairs_read`` equals ``kept`` plus the drops. Records and files that
could not be read are counted apart (``wat_bad_json``, ``list_row_malformed``,
``unreadable_file``, ...): they are not pairs.

Dedupe keeps one pair per normalised image URL: the one whose text matched the most queries,
then the longest text, then the smallest (text, page URL, source) — a rule that needs no order
of arrival, so every runner and worker count gives the same pair. Output shards are chosen by
the uid's hash and sorted by uid, so the files are byte-identical across runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import apache_beam as beam
from apache_beam import pvalue

from wit_builder.capping.languages import SEPARATOR
from wit_builder.errors import UsageError
from wit_builder.harvest.face_boxes import merge_face_boxes, parse_face_boxes
from wit_builder.harvest.matcher import QueryMatcher
from wit_builder.harvest.normalise import (
    clean_text,
    has_image_extension,
    normalise_url,
    not_unicode,
    resolve_url,
    text_rejection,
    url_uid,
)
from wit_builder.harvest.settings import HarvestRules
from wit_builder.harvest.sources import FILE_REASONS, ListLayout, RawPair, Rejected, read_pair_list, read_wat
from wit_builder.hashing import shard_of
from wit_builder.io.chunks import parquet_rows
from wit_builder.io.json_files import write_json
from wit_builder.io.query_list import load_queries_by_language
from wit_builder.io.upstream import query_list_record
from wit_builder.schemas import table_from_rows, write_table_omitting_nulls
from wit_builder.stage_stats import STATS, StatsDoFn, run_once

ERRORS = "errors"
HTML_CLEANED = "html_cleaned"  # captions that held tags or entities: kept, cleaned, counted
DROP_REASONS = (
    "not_unicode", "bad_url", "blocklisted", "empty_text", "text_too_short", "text_too_long", "not_image_extension",
    "no_language_list", "no_match", "duplicate_url",
)  # fmt: skip


@dataclass(frozen=True)
class HarvestInputs:
    queries: str
    wat_files: tuple[str, ...] = ()
    list_files: tuple[str, ...] = ()
    list_layout: ListLayout | None = None


class Blocked:
    """The URL and domain blocklists, built once per worker: which list, if any, blocks a URL."""

    def __init__(self, paths: tuple[str, ...]):
        from wit_builder.io.blocklists import read_blocklist

        self.urls: list[tuple[str, frozenset[str]]] = []
        self.domains: list[tuple[str, frozenset[str]]] = []
        for path in paths:
            blocklist = read_blocklist(path)
            if blocklist.kind == "url":
                entries = (normalise_url(entry) for entry in blocklist.entries)
                self.urls.append((blocklist.name, frozenset(entry for entry in entries if entry)))
            elif blocklist.kind == "domain":
                self.domains.append((blocklist.name, blocklist.entries))
            else:
                raise UsageError(
                    f"--blocklist {path}: a {blocklist.kind} list blocks images by their hash, after download; "
                    "give it to the download stage "
                    "(wit-builder download --blocklist, or [download] blocklists in a run)"
                )

    def list_blocking(self, url: str) -> str | None:
        from urllib.parse import urlsplit

        from wit_builder.io.blocklists import blocked_domain

        for name, urls in self.urls:
            if url in urls:
                return name
        host = urlsplit(url).hostname or ""
        for name, domains in self.domains:
            if blocked_domain(host, domains):
                return name
        return None


def prepare(item: RawPair, rules: HarvestRules, blocked: Blocked | None = None) -> dict | str:
    """A raw pair as a candidate row without matches, or the reason it is dropped
    (``blocklisted:NAME`` when a blocklist named NAME blocks its URL). A caption that held HTML
    is marked ``html_cleaned`` (counted, not stored)."""
    if not_unicode(item.url, item.text, item.page_url, item.base_href):
        return "not_unicode"
    url = normalise_url(resolve_url(item.url, item.page_url, item.base_href))
    if url is None:
        return "bad_url"
    if blocked is not None and (name := blocked.list_blocking(url)):
        return f"blocklisted:{name}"
    if rules.image_extensions and not has_image_extension(url, rules.image_extensions):
        return "not_image_extension"
    text, cleaned = clean_text(item.text)
    reason = text_rejection(text, rules.text)
    if reason:
        return reason
    row = {"uid": url_uid(url), "url": url, "text": text, "page_url": item.page_url, "source": item.source}
    boxes, _ = parse_face_boxes(item.face_bboxes)
    return {**row, "page_opt_out": item.page_opt_out, "face_bboxes": boxes, **({HTML_CLEANED: True} if cleaned else {})}


class PrepareFn(StatsDoFn):
    """Raw pairs to candidate rows; every pair read, unreadable record and drop is counted."""

    def __init__(self, rules: HarvestRules):
        self.rules = rules
        self.blocked: Blocked | None = None

    def setup(self) -> None:
        self.blocked = Blocked(self.rules.blocklists) if self.rules.blocklists else None

    def process(self, item: RawPair | Rejected) -> Iterator:
        if isinstance(item, Rejected):
            self.count(item.reason)
            if item.reason in FILE_REASONS:  # a file read in part or not at all: named in stats.json
                path, _, error = item.detail.partition(": ")
                yield pvalue.TaggedOutput(ERRORS, (path, error))
            return
        self.count("pairs_read")
        if item.face_bboxes is not None and (unusable := parse_face_boxes(item.face_bboxes)[1]):
            self.count("face_boxes_unusable", unusable)
        row = prepare(item, self.rules, self.blocked)
        if isinstance(row, str):
            if row.startswith("blocklisted:"):
                self.count("blocklisted")  # and by list, below
            self.count(row)
        else:
            if row.pop(HTML_CLEANED, False):
                self.count(HTML_CLEANED)
            yield row


class MatchFn(StatsDoFn):
    """Adds the matched queries; the matchers are built once per worker from the list's path.

    An English-only list (no ``lang`` column) is matched as it always was. A worldwide list
    (``queries`` with ``lang``) is matched per language, as Meta CLIP 2 does: each text's
    language is identified (``wit_builder.text.language_id``, fastText's lid.176, offline) and
    the text is matched against that language's queries only (and the English ones too with
    ``match_english``, whose matches in other languages' captions are ``en<TAB>query``). A text
    whose language has no list, or is not among ``languages``, is dropped as
    ``no_language_list``; the row carries ``lang``, and every identified text and every kept row
    is counted per language.
    """

    def __init__(self, queries_path: str, case_sensitive: bool, rules: HarvestRules | None = None):
        self.queries_path = queries_path
        self.case_sensitive = case_sensitive
        self.rules = rules or HarvestRules()
        self.matcher: QueryMatcher | None = None
        self.matchers: dict[str, QueryMatcher] = {}

    def setup(self) -> None:
        by_language = load_queries_by_language(self.queries_path)
        if set(by_language) == {"en"}:
            self.matcher = QueryMatcher(by_language["en"], self.case_sensitive)
            return
        from wit_builder.text.language_id import LanguageIdentifier

        wanted = self.rules.languages
        self.matchers = {
            lang: QueryMatcher(queries, self.case_sensitive)
            for lang, queries in by_language.items()
            if wanted is None or lang in wanted or (lang == "en" and self.rules.match_english)
        }
        self.english = self.matchers.get("en") if self.rules.match_english else None
        self.identifier = LanguageIdentifier(self.rules.min_language_score)

    def process(self, row: dict) -> Iterator:
        if self.matcher is not None:
            matches = self.matcher(row["text"])
        else:
            lang, _ = self.identifier.identify(row["text"])
            self.count(f"language:{lang}")
            kept = self.rules.languages is None or lang in self.rules.languages
            matcher = self.matchers.get(lang) if kept else None
            if matcher is None and self.english is None:
                self.count("no_language_list")
                return
            found = set(matcher(row["text"])) if matcher is not None else set()
            if self.english is not None and lang != "en":
                # An English query found in another language's caption belongs to English: it
                # carries its language (``en<TAB>query``), so balance counts it, caps it with
                # English's t and finds its source in the English list. A query the caption's
                # own list also holds stays with that list.
                found |= {f"en{SEPARATOR}{q}" for q in self.english(row["text"]) if q not in found}
            matches = sorted(found)
            row = {**row, "lang": lang}
        if not matches:
            self.count("no_match")
            return
        yield row["uid"], {**row, "matches": matches}


def preference(row: dict) -> tuple:
    """Smaller is preferred: most matches, longest text, then (text, page URL, source)."""
    return (-len(row["matches"]), -len(row["text"]), row["text"], row["page_url"] or "", row["source"])


def _first_opt_out(a: str | None, b: str | None) -> str | None:
    """Of two page-level opt-outs, the one a URL keeps: any over none, then the smaller text."""
    return min(x for x in (a, b) if x) if (a or b) else None


class PickRepresentative(beam.CombineFn):
    """One row per URL, by ``preference``, and how many rows shared the URL. A page-level
    opt-out and face boxes found with any of the rows stay with the URL, whichever row represents it.

    With ``max_captions`` N > 1, the N best rows of distinct texts are kept (a small sorted list,
    so the accumulator stays bounded however many rows share the URL): the best represents the
    URL, ``captions`` lists their texts best first, and ``matches`` is the union of their
    matches, so balance counts the image under every query any of its captions matched."""

    def __init__(self, max_captions: int = 1):
        self.max_captions = max_captions

    def create_accumulator(self):
        return ([], 0, None, None)

    def _best(self, rows: list[dict]) -> list[dict]:
        if self.max_captions == 1:  # the default, once per pair read: no sort, no dict
            return [min(rows, key=preference)]
        best: dict[str, dict] = {}
        for row in sorted(rows, key=preference):
            best.setdefault(row["text"], row)
            if len(best) == self.max_captions:
                break
        return list(best.values())

    def add_input(self, accumulator, row):
        best, count, opt_out, boxes = accumulator
        return (
            self._best([*best, row]),
            count + 1,
            _first_opt_out(opt_out, row.get("page_opt_out")),
            merge_face_boxes(boxes, row.get("face_bboxes")),
        )

    def merge_accumulators(self, accumulators):
        best, count, opt_out, boxes = [], 0, None, None
        for other, other_count, other_opt_out, other_boxes in accumulators:
            count += other_count
            opt_out = _first_opt_out(opt_out, other_opt_out)
            boxes = merge_face_boxes(boxes, other_boxes)
            best = self._best([*best, *other])
        return best, count, opt_out, boxes

    def extract_output(self, accumulator):
        best, count, opt_out, boxes = accumulator
        if not best:
            return None, count
        row = {**best[0], "page_opt_out": opt_out, "face_bboxes": boxes}
        if self.max_captions > 1:
            row["captions"] = [other["text"] for other in best]
            row["matches"] = sorted({match for other in best for match in other["matches"]})
        return row, count


# Kept pairs of other languages with an English query found through --match-english.
THROUGH_ENGLISH = "kept_through_english"
EXTRA_CAPTIONS = "extra_captions"


class CountKeptFn(StatsDoFn):
    """The kept row of each URL; counts kept pairs and the duplicates they stand for."""

    def process(self, element: tuple) -> Iterator[dict]:
        _, (row, sharing) = element
        self.count("kept")
        if row.get("lang"):
            self.count(f"kept:{row['lang']}")
            if any(SEPARATOR in match for match in row["matches"]):
                self.count(THROUGH_ENGLISH)
        self.count("duplicate_url", sharing - 1)
        if row.get("captions"):  # --max-captions: duplicates whose text stays as a further caption
            self.count(EXTRA_CAPTIONS, len(row["captions"]) - 1)
        yield row


class ReadPairSources(beam.PTransform):
    """Raw pairs (and ``Rejected`` records) from the WAT files and pair lists of ``inputs``."""

    def __init__(self, inputs: HarvestInputs):
        super().__init__()
        self.inputs = inputs

    def expand(self, pbegin: beam.pvalue.PBegin) -> beam.PCollection:
        pipeline, sources = pbegin.pipeline, []
        if self.inputs.wat_files:
            sources.append(
                pipeline
                | "WatFiles" >> beam.Create(list(self.inputs.wat_files))
                | "SpreadWat" >> beam.Reshuffle()
                | "ReadWat" >> beam.FlatMap(read_wat)
            )
        if self.inputs.list_files:
            sources.append(
                pipeline
                | "ListFiles" >> beam.Create(list(self.inputs.list_files))
                | "SpreadLists" >> beam.Reshuffle()
                | "ReadLists" >> beam.FlatMap(read_pair_list, self.inputs.list_layout)
            )
        return sources | "AllSources" >> beam.Flatten(pipeline=pipeline)


class HarvestPairs(beam.PTransform):
    """The harvest stage over any PCollection of ``RawPair`` (and ``Rejected``) elements.

    Returns ``{"candidates": rows, "stats": (name, total), "errors": (file, error)}``: candidate
    rows (uid, url, text, page_url, source, matches), one per normalised image URL; every count
    of the stage (``pairs_read``, ``kept`` and one per drop reason) summed over the whole input;
    and each input file read only in part or not at all. It writes nothing; ``WriteCandidates``
    and the ``wit-builder harvest`` runner do.
    """

    def __init__(self, queries: str, rules: HarvestRules | None = None):
        super().__init__()
        self.queries = queries  # a query list's path: read once per worker, in ``setup``
        self.rules = rules or HarvestRules()

    def expand(self, raw: beam.PCollection) -> dict[str, beam.PCollection]:
        prepared = raw | "Normalise" >> beam.ParDo(PrepareFn(self.rules)).with_outputs(STATS, ERRORS, main="rows")
        match_fn = MatchFn(self.queries, self.rules.case_sensitive, self.rules)
        matched = prepared.rows | "Match" >> beam.ParDo(match_fn).with_outputs(STATS, main="rows")
        picked = (
            matched.rows
            | "DedupeByUrl" >> beam.CombinePerKey(PickRepresentative(self.rules.max_captions))
            | "CountKept" >> beam.ParDo(CountKeptFn()).with_outputs(STATS, main="rows")
        )
        stats = (
            (prepared.stats, matched.stats, picked.stats)
            | "AllStats" >> beam.Flatten()
            | "SumStats" >> beam.CombinePerKey(sum)
        )
        return {"candidates": picked.rows, "stats": stats, "errors": prepared[ERRORS]}


class WriteCandidates(beam.PTransform):
    """Candidate rows into ``OUT/candidates/part-NNNNN.parquet`` (the uid's hash picks the file,
    rows sorted by uid: the same bytes on any runner). Its outputs: ``paths`` (the files
    written) and ``stats`` (``rows_written``, counted in the files)."""

    def __init__(self, out_dir: str, shards: int):
        super().__init__()
        self.out_dir = out_dir
        self.shards = shards

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        return (
            rows
            | "KeyByShard" >> beam.Map(lambda row, shards: (shard_of(row["uid"], shards), row), self.shards)
            | "GroupShards" >> beam.GroupByKey()
            | "WriteShards" >> beam.ParDo(WriteShardFn(self.out_dir)).with_outputs(STATS, main="paths")
        )


class WriteShardFn(StatsDoFn):
    """One candidate file; counts the rows it holds once written (``rows_written``)."""

    def __init__(self, out_dir: str):
        self.out_dir = out_dir

    def process(self, element) -> Iterator[str]:
        shard, rows = element
        rows = sorted(rows, key=lambda row: row["uid"])
        path = f"{self.out_dir.rstrip('/')}/candidates/part-{shard:05d}.parquet"
        # A worldwide list's rows carry their language; an English-only list's files have no lang.
        write_table_omitting_nulls(table_from_rows(rows, "candidates"), path, "candidates", ("lang", "captions"))
        self.count("rows_written", parquet_rows(path))
        yield path


def write_stats(
    out_dir: str, inputs: HarvestInputs, rules: HarvestRules, stats: dict, shards: list, errors: list
) -> dict:
    """``stats.json``: the pairs read against the rows in the written files plus the drops."""
    counts = dict(sorted(stats.items()))
    kept = counts.get("rows_written", 0)
    drops = {reason: counts.get(reason, 0) for reason in DROP_REASONS}
    by_list = {name.split(":", 1)[1]: n for name, n in counts.items() if name.startswith("blocklisted:")}
    report = {
        "inputs": {
            **query_list_record(inputs.queries),
            "wat_files": len(inputs.wat_files),
            "list_files": list(inputs.list_files),
        },
        "rules": {
            "min_text_chars": rules.text.min_chars,
            "max_text_chars": rules.text.max_chars,
            "image_extensions": sorted(rules.image_extensions) if rules.image_extensions else None,
            "case_sensitive": rules.case_sensitive,
            **({"max_captions": rules.max_captions} if rules.max_captions > 1 else {}),
        },
        "pairs_read": counts.get("pairs_read", 0),
        "kept": kept,
        "dropped": drops,
        "adds_up": counts.get("pairs_read", 0) == kept + sum(drops.values()),
        # Records and files that gave no pair: non-HTML WAT records, broken ones, unreadable files.
        "records_without_pairs": {
            k: v
            for k, v in counts.items()
            if k not in (*DROP_REASONS, "kept", "rows_written", "pairs_read", "face_boxes_unusable")
            and k not in (HTML_CLEANED, THROUGH_ENGLISH, EXTRA_CAPTIONS)
            and not k.startswith(("blocklisted:", "language:", "kept:"))
        },
        # --max-captions: of the duplicate_url rows, those whose text was kept beside the kept one.
        **({"extra_captions": counts.get(EXTRA_CAPTIONS, 0)} if rules.max_captions > 1 else {}),
        # Captions kept or dropped after HTML was taken out of them (tags, entities).
        "captions_html_cleaned": counts.get(HTML_CLEANED, 0),
        # Face boxes a list gave that were not four finite numbers: they cannot be blurred.
        "face_boxes_unusable": counts.get("face_boxes_unusable", 0),
        # Worldwide lists: texts identified per language, and the rows kept per language.
        "languages": {
            lang: {"identified": counts.get(f"language:{lang}", 0), "kept": counts.get(f"kept:{lang}", 0)}
            for lang in sorted({k.split(":", 1)[1] for k in counts if k.startswith(("language:", "kept:"))})
        },
        # --match-english: kept pairs of other languages that hold an English query (en<TAB>query).
        **({"kept_through_english": counts.get(THROUGH_ENGLISH, 0)} if rules.match_english else {}),
        # Pairs each blocklist dropped, by the list's name; the lists' entries are never recorded.
        "blocklisted_by_list": by_list,
        "unreadable_files": [{"path": path, "error": error} for path, error in sorted(errors)],
        "shards": sorted(path.rsplit("/", 1)[-1] for path in shards),
    }
    write_json(f"{out_dir.rstrip('/')}/stats.json", report, schema="stats.harvest")
    return report


def output_shards(inputs: HarvestInputs, rules: HarvestRules) -> int:
    """How many candidate files: ``--output-shards``, else one per input file and at least 8.
    A file's rows are grouped and sorted on one worker, so with a fixed number of files a
    worker's memory would grow with the crawl; one per input keeps it to about one input
    file's pairs (a Common Crawl WAT file's, a list file's)."""
    return rules.output_shards or max(8, len(inputs.wat_files) + len(inputs.list_files))


def build_pipeline(pipeline: beam.Pipeline, inputs: HarvestInputs, rules: HarvestRules, out_dir: str):
    """The ``wit-builder harvest`` pipeline: read the sources, harvest, write files and stats."""
    harvested = pipeline | "ReadSources" >> ReadPairSources(inputs) | "Harvest" >> HarvestPairs(inputs.queries, rules)
    written = harvested["candidates"] | "WriteCandidates" >> WriteCandidates(out_dir, output_shards(inputs, rules))
    stats = (harvested["stats"], written[STATS]) | "AllStats" >> beam.Flatten() | "SumAll" >> beam.CombinePerKey(sum)
    return run_once(
        pipeline,
        "WriteStats",
        write_stats,
        out_dir,
        inputs,
        rules,
        pvalue.AsDict(stats),
        pvalue.AsList(written.paths),
        pvalue.AsList(harvested["errors"]),
    )
