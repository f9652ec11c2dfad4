"""Counting the dump's prose: pages read from dump slices, their prose tokenised, and token,
bigram and listed-phrase counts summed per bundle into one blob per shard.

Counting travels in blobs (``counting.py``): each worker sums its bundle's counts into one dict
per shard (memory capped by flushing), and ``CombinePerKey(SumCountDicts)`` sums the blobs of a
shard (lifted before the shuffle, and fanned out: a shard is a hot key). Nothing holds the
vocabulary on one worker.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.transforms.window import GlobalWindows

from wit_builder.counting import SumCountDicts, split_by_shard
from wit_builder.queries.dump_reader import DumpError, DumpSlice, MalformedPage, Page, plan_slices, read_slice
from wit_builder.queries.inputs import ERRORS
from wit_builder.queries.languages import lang_key, split_key
from wit_builder.queries.wikitext import wikitext_to_prose
from wit_builder.stage_stats import StatsDoFn
from wit_builder.text.segment import Segmenter, needs_segmenting
from wit_builder.text.tokens import joined_tokens, normalise, phrases

FLUSH_AT = 300_000  # distinct keys a counting worker holds before emitting its partial sums


class ReadPagesFn(StatsDoFn):
    """Pages of one dump slice; only articles (namespace 0, not redirects) go on. A slice that
    cannot be read to its end keeps the pages before the break; it is counted and named on the
    errors output. Each article goes on with its dump's language: (lang, page)."""

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
                yield dump_slice.lang, page


class CountTextFn(beam.DoFn):
    """Token, bigram and phrase counts of article prose, summed per bundle, emitted as shard blobs.

    Every key carries the page's language (``languages.lang_key``: ``de<TAB>Haus``). Unigram
    blobs are sharded by the key, bigram blobs (keys ``de<TAB>a b``) by their first word's key,
    so the PMI join can meet each with the unigram shard holding c(a). ``phrase_index`` (a side
    input) maps each language's first token of every title and WordNet query to the token
    sequences starting with it, so their occurrences are counted in the same pass. Prose in a script written without
    spaces is cut into words first (``wit_builder.text.segment``), as harvest cuts captions.
    """

    def __init__(self, shards: int):
        self.shards = shards

    def setup(self) -> None:
        self.segmenter = Segmenter()

    def start_bundle(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.unigrams: Counter[str] = Counter()
        self.bigrams: Counter[str] = Counter()
        self.listed_hits: Counter[str] = Counter()  # occurrences of each title and WordNet query
        self.tokens = 0
        self.tokens_by_language: Counter[str] = Counter()
        self.runs = 0  # phrases read: the "phrases" count of stats.json
        self.unparsed = 0  # pages whose wikitext the parser could not read

    def process(self, element: tuple[str, Page], phrase_index: dict) -> Iterator:
        lang, page = element
        try:
            prose = normalise(wikitext_to_prose(page.text))
        except Exception:  # the wikitext parser failing on one page costs that page alone
            self.unparsed += 1
            return
        prefix = lang_key(lang, "")
        listed = phrase_index.get(lang, {})
        for run in phrases(self.segmenter.spaced(prose)):
            self.runs += 1
            self.tokens += len(run)
            self.tokens_by_language[lang] += len(run)
            self.unigrams.update(prefix + token for token in run)
            self.bigrams.update(f"{prefix}{a} {b}" for a, b in itertools.pairwise(run))
            for start, token in enumerate(run):
                for sequence, query in listed.get(token, ()):
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
        for lang, tokens in self.tokens_by_language.items():
            yield emit("language_stats", (lang, tokens))
        self._reset()


def _first_word(bigram: str) -> str:
    """The key of a bigram key's first word (``de<TAB>a b`` → ``de<TAB>a``)."""
    return bigram.split(" ", 1)[0]


def phrase_index(keys: list[str]) -> dict[str, dict[str, list[tuple[tuple[str, ...], str]]]]:
    """Language → first token → [(token sequence, key)] for the listed queries (``lang_key``s)
    that are tokens joined by spaces, once cut into words where their script is written without
    spaces ("北京天安门" is the sequence 北京, 天安门, as the prose it is counted in)."""
    segmenter = Segmenter() if any(needs_segmenting(key) for key in keys) else None
    index: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = {}
    for key in sorted(set(keys)):
        lang, query = split_key(key)
        sequence = joined_tokens(segmenter.spaced(query) if segmenter else query)
        if sequence:
            index.setdefault(lang, {}).setdefault(sequence[0], []).append((sequence, key))
    return index


def _merge_per_shard(fanout: int) -> beam.PTransform:
    combine = beam.CombinePerKey(SumCountDicts())
    return combine.with_hot_key_fanout(fanout) if fanout > 1 else combine


class CountDumpText(beam.PTransform):
    """Dump files in; unigram and bigram count shards, the occurrences of every listed phrase
    (``phrase_index``, a singleton), stats and errors out."""

    def __init__(self, dump_files: list[tuple[str, str]], shards: int, hot_key_fanout: int):
        super().__init__()
        self.dump_files = dump_files  # (path, language)
        self.shards = shards
        self.hot_key_fanout = hot_key_fanout

    def expand(self, index):
        pipeline = index.pipeline
        pages = (
            pipeline
            | "DumpFiles" >> beam.Create(list(self.dump_files))
            | "PlanSlices" >> beam.FlatMap(lambda dump: plan_slices(dump[0], lang=dump[1]))
            | "SpreadSlices" >> beam.Reshuffle()
            | "ReadPages" >> beam.ParDo(ReadPagesFn()).with_outputs("stats", ERRORS, main="pages")
        )
        counted = pages.pages | "CountText" >> beam.ParDo(
            CountTextFn(self.shards), pvalue.AsSingleton(index)
        ).with_outputs("unigram", "bigram", "listed_hits", "stats", "language_stats")
        # A shard key gets one partial blob per bundle: thousands at Wikipedia scale, a hot key.
        # Fan-out merges them in ``hot_key_fanout`` intermediate groups first.
        return {
            "unigram_shards": counted.unigram | "SumUnigrams" >> _merge_per_shard(self.hot_key_fanout),
            "bigram_shards": counted.bigram | "SumBigrams" >> _merge_per_shard(self.hot_key_fanout),
            "phrase_counts": counted.listed_hits | "SumListedHits" >> beam.CombineGlobally(SumCountDicts()),
            "stats": [pages.stats, counted.stats],
            "language_stats": counted.language_stats,
            "errors": [pages[ERRORS]],
        }
