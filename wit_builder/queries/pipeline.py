"""The queries stage as a Beam pipeline: count the dump, score the candidates, write the list.

    dump files ─► slices ─► pages ─► prose ─► token counts ─┬─► unigrams (count ≥ 100)
                                                             ├─► bigrams ─► join c(a), c(b) ─► PMI ≥ 30
    pageview files ─► (title, views) ─► sum ─► views ≥ 70 ──┤   (titles and WordNet lemmas are
    WordNet folder ─► synset names ─────────────────────────┘    counted in the text as phrases)
                                         └─► one worker: union, target size, queries.parquet/txt, stats.json

Counting is distributed and travels in blobs (``counting.py``): each worker sums its bundle's
counts into one dict per shard (memory capped by flushing), ``CombinePerKey(SumCountDicts)`` sums
the blobs of a shard (lifted before the shuffle, and fanned out: a shard is a hot key), and PMI's c(a) and
c(b) come from two shard-wise ``CoGroupByKey`` joins with the unigram shards, never from a side
input holding the vocabulary. Only the final list (~500k rows) meets on one worker, to be
sorted and written. Every rejected or skipped input is counted in ``stats.json``.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import apache_beam as beam
import fsspec
from apache_beam import pvalue
from apache_beam.transforms.window import GlobalWindows

from wit_builder.counting import SumCountDicts, merged, split_by_shard
from wit_builder.hashing import shard_of
from wit_builder.io.json_files import write_json
from wit_builder.io.lines import bounded_lines
from wit_builder.queries.dump_reader import (
    DumpError,
    DumpSlice,
    MalformedPage,
    Page,
    dump_problem,
    is_stream_index,
    plan_slices,
    read_slice,
)
from wit_builder.queries.pageviews import PageviewRules, parse_line
from wit_builder.queries.selection import (
    ALWAYS_IN,
    SOURCE_ORDER,
    Candidate,
    pmi,
    select_target_size,
    union,
)
from wit_builder.queries.settings import QueryRules, QueryTuning
from wit_builder.queries.wikitext import wikitext_to_prose
from wit_builder.queries.wordnet import MalformedLine, read_lemmas
from wit_builder.schemas import table_from_rows, write_table
from wit_builder.stage_stats import StatsDoFn, run_once, stat
from wit_builder.text.tokens import is_query_like, joined_tokens, normalise, phrases

FLUSH_AT = 300_000  # distinct keys a counting worker holds before emitting its partial sums
ERRORS = "errors"  # (file, what went wrong) of inputs read only in part, or not at all


DUMPS = "MediaWiki XML dumps (.xml, .xml.bz2, multistream .bz2)"


@dataclass(frozen=True)
class QueryInputs:
    wiki_dump: tuple[str, ...]
    pageviews: tuple[str, ...] = ()
    wordnet: str | None = None
    unreadable: tuple[tuple[str, str], ...] = ()  # (dump, why) left out before the run


class ReadPagesFn(StatsDoFn):
    """Pages of one dump slice; only articles (namespace 0, not redirects) go on. A slice that
    cannot be read to its end keeps the pages before the break; it is counted and named on the
    errors output."""

    def process(self, dump_slice: DumpSlice) -> Iterator:
        for page in read_slice(dump_slice):
            if isinstance(page, DumpError):
                self.count("dump_files_cut_short")
                yield pvalue.TaggedOutput(ERRORS, (page.label, page.error))
                continue
            if isinstance(page, MalformedPage):
                self.count("malformed_pages")
                continue
            self.count("pages_read")
            if page.namespace != 0:
                self.count("non_article_pages_skipped")
            elif page.redirect:
                self.count("redirects_skipped")
            else:
                self.count("articles")
                yield page


class CountTextFn(beam.DoFn):
    """Token, bigram and phrase counts of article prose, summed per bundle, emitted as shard blobs.

    Unigram blobs are sharded by the token, bigram blobs (keys "a b") by their first token, so
    the PMI join can meet each with the unigram shard holding c(a). ``phrase_index`` (a side
    input) maps the first token of every title and WordNet query to the token sequences starting
    with it, so their occurrences are counted in the same pass.
    """

    def __init__(self, shards: int):
        self.shards = shards

    def start_bundle(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.unigrams: Counter[str] = Counter()
        self.bigrams: Counter[str] = Counter()
        self.listed_hits: Counter[str] = Counter()  # occurrences of each title and WordNet query
        self.tokens = 0
        self.runs = 0  # phrases read: the "phrases" count of stats.json
        self.unparsed = 0  # pages whose wikitext the parser could not read

    def process(self, page: Page, phrase_index: dict) -> Iterator:
        try:
            prose = normalise(wikitext_to_prose(page.text))
        except Exception:  # the wikitext parser failing on one page costs that page alone
            self.unparsed += 1
            return
        for run in phrases(prose):
            self.runs += 1
            self.tokens += len(run)
            self.unigrams.update(run)
            self.bigrams.update(f"{a} {b}" for a, b in itertools.pairwise(run))
            for start, token in enumerate(run):
                for sequence, query in phrase_index.get(token, ()):
                    if tuple(run[start : start + len(sequence)]) == sequence:
                        self.listed_hits[query] += 1
        if len(self.unigrams) + len(self.bigrams) > FLUSH_AT:
            yield from self._flush(windowed=False)

    def finish_bundle(self) -> Iterator:
        yield from self._flush(windowed=True)

    def _flush(self, windowed: bool) -> Iterator:
        def emit(tag, value):
            return pvalue.TaggedOutput(tag, GlobalWindows.windowed_value(value) if windowed else value)

        for shard, blob in split_by_shard(self.unigrams, self.shards):
            yield emit("unigram", (shard, blob))
        for shard, blob in split_by_shard(self.bigrams, self.shards, _first_word):
            yield emit("bigram", (shard, blob))
        if self.listed_hits:
            yield emit("listed_hits", dict(self.listed_hits))
        for name, value in (("tokens", self.tokens), ("phrases", self.runs), ("pages_unparsable", self.unparsed)):
            if value:
                yield emit("stats", (name, value))
        self._reset()


def _first_word(bigram: str) -> str:
    return bigram.split(" ", 1)[0]


def read_pageview_file(path: str, rules: PageviewRules) -> Iterator:
    """(title, views) summed over one file, and the count of lines by fate. A file that cannot
    be read to its end (not the compression its name says, cut off) keeps the lines before the
    break, and is counted and named on the errors output."""
    views: Counter[str] = Counter()
    fates: Counter[str] = Counter()
    try:
        with fsspec.open(path, "rt", compression="infer", encoding="utf-8", errors="replace") as handle:
            for line in bounded_lines(handle):
                parsed = parse_line(line, rules) if isinstance(line, str) else "a line too long to read"
                if isinstance(parsed, tuple):
                    fates["pageview_lines_counted"] += 1
                    views[parsed[0]] += parsed[1]
                else:
                    fates["pageview_lines_not_counted" if parsed is None else "pageview_lines_malformed"] += 1
    except (OSError, EOFError, ValueError) as error:
        fates["pageview_files_cut_short" if fates else "pageview_files_unreadable"] += 1
        yield pvalue.TaggedOutput(ERRORS, (path, f"{type(error).__name__}: {error}"))
    for name, count in fates.items():
        yield stat(name, count)
    yield from views.items()


def read_wordnet_queries(folder: str, all_lemmas: bool) -> Iterator:
    """The WordNet queries of a database folder; its malformed lines are counted."""
    malformed = 0
    for found in read_lemmas(folder, all_lemmas):
        if isinstance(found, MalformedLine):
            malformed += 1
        else:
            yield found[0]
    if malformed:
        yield stat("wordnet_lines_malformed", malformed)


def phrase_index(queries: list[str]) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """First token → [(token sequence, query)] for queries that are tokens joined by spaces."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for query in sorted(set(queries)):
        sequence = joined_tokens(query)
        if sequence:
            index.setdefault(sequence[0], []).append((sequence, query))
    return index


def _best(candidates: Iterator[Candidate], limit: int | None) -> list[Candidate] | Iterator[Candidate]:
    """All candidates, or with a target size only a shard's ``limit`` best (the rest cannot win)."""
    return candidates if limit is None else heapq.nsmallest(limit, candidates, key=Candidate.rank_key)


def unigram_candidates(shard_counts: tuple[int, dict], rules: QueryRules) -> Iterator[Candidate]:
    _, counts = shard_counts
    kept = (
        Candidate(token, "unigram", float(count), count)
        for token, count in counts.items()
        if rules.target_size is not None or count >= rules.min_unigram_count or token in ALWAYS_IN
    )
    yield from _best(kept, rules.target_size)


def pmi_word_limit(total_bigrams: int, rules: QueryRules) -> float:
    """The largest count a word of a bigram with PMI >= T can have.

    PMI >= T means c(a,b)·N >= 2^T·c(a)·c(b); since c(a,b) <= c(b), c(a) <= N / 2^T (and the
    same for b). Words more frequent than that cannot be part of a kept bigram, so their bigrams
    leave the join early. With a target size there is no threshold, and no limit.
    """
    return math.inf if rules.target_size is not None else total_bigrams / 2**rules.min_bigram_pmi


def attach_first_count(element, total_bigrams: int, rules: QueryRules, shards: int) -> Iterator:
    """Join 1, one first-word shard: bigrams with c(a) attached, re-sharded by the second word."""
    _, grouped = element
    unigrams = merged(grouped["unigrams"])
    limit = pmi_word_limit(total_bigrams, rules)
    out: dict[int, dict[str, tuple[int, int]]] = {}
    for bigram, pair_count in merged(grouped["bigrams"]).items():
        if pair_count < rules.min_bigram_count:
            continue
        first, second = bigram.split(" ", 1)
        first_count = unigrams[first]
        if first_count <= limit:
            out.setdefault(shard_of(second, shards), {})[bigram] = (pair_count, first_count)
    yield from out.items()


def score_bigrams(element, total_bigrams: int, rules: QueryRules) -> Iterator[Candidate]:
    """Join 2, one second-word shard: PMI for each bigram, kept by threshold or rank."""
    _, grouped = element
    unigrams = merged(grouped["unigrams"])
    limit = pmi_word_limit(total_bigrams, rules)
    pairs: dict[str, tuple[int, int]] = {}
    for blob in grouped["pairs"]:
        pairs.update(blob)

    def scored() -> Iterator[Candidate]:
        for bigram, (pair_count, first_count) in pairs.items():
            second_count = unigrams[bigram.split(" ", 1)[1]]
            if second_count > limit:
                continue
            score = pmi(pair_count, first_count, second_count, total_bigrams)
            if rules.target_size is not None or score >= rules.min_bigram_pmi:
                yield Candidate(bigram, "bigram", score, pair_count)

    yield from _best(scored(), rules.target_size)


def _merge_per_shard(fanout: int) -> beam.PTransform:
    combine = beam.CombinePerKey(SumCountDicts())
    return combine.with_hot_key_fanout(fanout) if fanout > 1 else combine


class BuildQueryList(beam.PTransform):
    """The query list's candidates and stats: a PCollection of ``Candidate`` per source."""

    def __init__(self, inputs: QueryInputs, rules: QueryRules | None = None, tuning: QueryTuning | None = None):
        super().__init__()
        self.inputs = inputs
        self.rules = rules or QueryRules()
        tuning = tuning or QueryTuning()
        self.shards = tuning.count_shards
        self.hot_key_fanout = tuning.hot_key_fanout

    def expand(self, pbegin):
        rules = self.rules
        pipeline = pbegin.pipeline
        pageview_rules = PageviewRules(rules.pageview_projects, rules.min_hourly_views)
        stats_parts, error_parts = [], []

        # Titles: views summed over every pageview file.
        if self.inputs.pageviews:
            views = (
                pipeline
                | "PageviewFiles" >> beam.Create(list(self.inputs.pageviews))
                | "SpreadPageviewFiles" >> beam.Reshuffle()
                | "ReadPageviews"
                >> beam.FlatMap(read_pageview_file, pageview_rules).with_outputs("stats", ERRORS, main="views")
            )
            stats_parts.append(views.stats)
            error_parts.append(views[ERRORS])
            title_views = (
                views.views
                | "SumViews" >> beam.CombinePerKey(sum)
                | "TitleThreshold"
                >> beam.Filter(
                    lambda kv: (
                        is_query_like(kv[0]) and (rules.target_size is not None or kv[1] >= rules.min_title_views)
                    )
                )
            )
        else:
            title_views = pipeline | "NoTitles" >> beam.Create([])

        # WordNet: synset names.
        if self.inputs.wordnet:
            wordnet_queries_read = (
                pipeline
                | "WordNetFolder" >> beam.Create([self.inputs.wordnet])
                | "ReadWordNet"
                >> beam.FlatMap(read_wordnet_queries, rules.wordnet_all_lemmas).with_outputs("stats", main="names")
            )
            stats_parts.append(wordnet_queries_read.stats)
            wordnet_queries = (
                wordnet_queries_read.names
                | "WordNetQueryLike" >> beam.Filter(is_query_like)
                | "DistinctWordNet" >> beam.Distinct()
            )
        else:
            wordnet_queries = pipeline | "NoWordNet" >> beam.Create([])

        # The phrases to count in the text: every title and WordNet query.
        index = (
            (title_views | "TitleQueries" >> beam.Keys(), wordnet_queries)
            | "PhraseQueries" >> beam.Flatten()
            | "AllPhrases" >> beam.combiners.ToList()
            | "PhraseIndex" >> beam.Map(phrase_index)
        )

        # The dump: pages, prose, counts in shard blobs.
        pages = (
            pipeline
            | "DumpFiles" >> beam.Create(list(self.inputs.wiki_dump))
            | "PlanSlices" >> beam.FlatMap(plan_slices)
            | "SpreadSlices" >> beam.Reshuffle()
            | "ReadPages" >> beam.ParDo(ReadPagesFn()).with_outputs("stats", ERRORS, main="pages")
        )
        stats_parts.append(pages.stats)
        error_parts.append(pages[ERRORS])
        counted = pages.pages | "CountText" >> beam.ParDo(
            CountTextFn(self.shards), pvalue.AsSingleton(index)
        ).with_outputs("unigram", "bigram", "listed_hits", "stats")
        stats_parts.append(counted.stats)
        # A shard key gets one partial blob per bundle: thousands at Wikipedia scale, a hot key.
        # Fan-out merges them in ``hot_key_fanout`` intermediate groups first.
        unigram_shards = counted.unigram | "SumUnigrams" >> _merge_per_shard(self.hot_key_fanout)
        bigram_shards = counted.bigram | "SumBigrams" >> _merge_per_shard(self.hot_key_fanout)
        phrase_counts = pvalue.AsSingleton(
            counted.listed_hits | "SumListedHits" >> beam.CombineGlobally(SumCountDicts())
        )

        total_bigrams = (
            bigram_shards
            | "ShardBigramTotals" >> beam.Map(lambda kv: sum(kv[1].values()))
            | "TotalBigrams" >> beam.CombineGlobally(sum)
        )
        stats_parts.append(total_bigrams | "BigramsStat" >> beam.Map(lambda n: ("bigrams", n)))
        for name, shards in (("distinct_unigrams", unigram_shards), ("distinct_bigrams", bigram_shards)):
            stats_parts.append(shards | f"Size{name}" >> beam.Map(lambda kv, name=name: (name, len(kv[1]))))

        unigrams = unigram_shards | "UnigramCandidates" >> beam.FlatMap(unigram_candidates, rules)

        # Bigrams: PMI from two shard-wise joins with the unigram counts.
        total = pvalue.AsSingleton(total_bigrams)
        by_second = (
            {"bigrams": bigram_shards, "unigrams": unigram_shards}
            | "JoinFirstCount" >> beam.CoGroupByKey()
            | "AttachFirstCount" >> beam.FlatMap(attach_first_count, total, rules, self.shards)
        )
        bigrams = (
            {"pairs": by_second, "unigrams": unigram_shards}
            | "JoinSecondCount" >> beam.CoGroupByKey()
            | "ScorePMI" >> beam.FlatMap(score_bigrams, total, rules)
        )

        # Titles and WordNet with their occurrences in the text.
        titles = title_views | "TitleCandidates" >> beam.Map(
            lambda kv, occurrences: Candidate(kv[0], "title", float(kv[1]), occurrences.get(kv[0], 0)), phrase_counts
        )
        wordnet = wordnet_queries | "WordNetCandidates" >> beam.Map(
            lambda query, occurrences: Candidate(query, "wordnet", 0.0, occurrences.get(query, 0)), phrase_counts
        )

        stats = stats_parts | "AllStats" >> beam.Flatten() | "SumStats" >> beam.CombinePerKey(sum)
        errors = error_parts | "AllErrors" >> beam.Flatten()
        return {"wordnet": wordnet, "unigram": unigrams, "bigram": bigrams, "title": titles, "stats": stats,
                "errors": errors}  # fmt: skip


def _gather(candidates: dict, target_size: int | None):
    """One list per source; with a target size, only each source's best ``target_size``."""
    gathered = {}
    for source in SOURCE_ORDER:
        collection = candidates[source]
        if target_size is None:
            gathered[source] = collection | f"Gather{source}" >> beam.combiners.ToList()
        else:
            gathered[source] = collection | f"Top{source}" >> beam.combiners.Top.Of(
                target_size, key=Candidate.rank_key, reverse=True
            )
    return gathered


def write_query_list(
    _: None,
    out_dir: str,
    rules: QueryRules,
    inputs: QueryInputs,
    stats: dict,
    errors: list[tuple[str, str]],
    **by_source: list[Candidate],
) -> dict:
    """The last step, on one worker: union (or target size), then the three output files."""
    numbers = {c.query: c for c in by_source["unigram"] if c.query in ALWAYS_IN}
    if rules.target_size is None:
        chosen, overlap = union(by_source)
    else:
        forced = [numbers.get(n, Candidate(n, "unigram", 0.0, 0)) for n in ALWAYS_IN]
        chosen, overlap = select_target_size(by_source, rules.target_size, forced)
    chosen_queries = {c.query for c in chosen}
    missing_numbers = [n for n in ALWAYS_IN if n not in chosen_queries]
    chosen += [Candidate(n, "unigram", 0.0, 0) for n in missing_numbers]  # always in, even unseen
    chosen.sort(key=lambda c: c.query)
    out = out_dir.rstrip("/")
    table = table_from_rows([asdict(c) for c in chosen], "queries")
    write_table(table, f"{out}/queries.parquet", "queries")
    with fsspec.open(f"{out}/queries.txt", "wt", encoding="utf-8") as handle:
        handle.writelines(c.query + "\n" for c in chosen)
    per_source = Counter(c.source for c in chosen)
    report = {
        "inputs": {"wiki_dump": list(inputs.wiki_dump), "pageviews": list(inputs.pageviews), "wordnet": inputs.wordnet},
        "unreadable_files": [{"path": path, "error": error} for path, error in [*inputs.unreadable, *sorted(errors)]],
        "rules": asdict(rules),
        "counts": dict(sorted(stats.items())),
        "candidates_per_source": {s: len(by_source[s]) for s in SOURCE_ORDER},
        "queries_per_source": {s: per_source.get(s, 0) for s in SOURCE_ORDER},
        "overlap_removed": overlap,
        "numbers_added_unseen": len(missing_numbers),
        "queries": len(chosen),
    }
    write_json(f"{out}/stats.json", report)
    return report


def build_pipeline(
    pipeline: beam.Pipeline,
    inputs: QueryInputs,
    rules: QueryRules,
    tuning: QueryTuning,
    out_dir: str,
):
    """Wire the stage into ``pipeline``; returns the PCollection holding the stats report."""
    candidates = pipeline | "BuildQueryList" >> BuildQueryList(inputs, rules, tuning)
    gathered = _gather(candidates, rules.target_size)
    side_inputs = {source: pvalue.AsSingleton(gathered[source]) for source in SOURCE_ORDER}
    stats, errors = pvalue.AsDict(candidates["stats"]), pvalue.AsList(candidates["errors"])
    return run_once(pipeline, "WriteQueryList", write_query_list, out_dir, rules, inputs, stats, errors, **side_inputs)


def resolve_inputs(wiki_dump: list[str], pageviews: list[str], wordnet: str | None) -> QueryInputs:
    """Check every path before the pipeline starts, so a typo fails at once with the path named
    (``UsageError``); the dumps' contents are checked by ``readable_dumps``."""
    from wit_builder.errors import UsageError
    from wit_builder.io.stage_folders import input_files

    dumps = [path for path in input_files("--wiki-dump", wiki_dump, DUMPS, None, "") if not is_stream_index(path)]
    views = input_files("--pageviews", pageviews, "pageview dumps", None, "") if pageviews else []
    if wordnet:
        filesystem, _ = fsspec.core.url_to_fs(wordnet)
        if not filesystem.isdir(wordnet) or not filesystem.exists(f"{wordnet.rstrip('/')}/data.noun"):
            raise UsageError(f"--wordnet {wordnet}: no WordNet 3.0 database there (data.noun, data.verb, ...)")
    return QueryInputs(wiki_dump=tuple(dumps), pageviews=tuple(views), wordnet=wordnet)


def readable_dumps(inputs: QueryInputs) -> QueryInputs:
    """The inputs with the dumps that do not open as MediaWiki XML left out and listed (they go
    to stats.json); ``StageFailed`` when none does."""
    from wit_builder.errors import StageFailed
    from wit_builder.io.chunks import none_readable

    good, bad = [], []
    for path in inputs.wiki_dump:
        problem = dump_problem(path)
        (bad.append((path, problem)) if problem else good.append(path))
    if not good:
        raise StageFailed(none_readable(bad, DUMPS))
    return dataclasses.replace(inputs, wiki_dump=tuple(good), unreadable=tuple(bad))
