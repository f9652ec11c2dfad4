"""Counting the dump's prose: pages read from dump slices, their prose tokenised, and token,
bigram and listed-phrase counts summed per bundle into one blob per shard.

Counting travels in blobs (``counting.py``): each worker sums its bundle's counts into two dicts
per shard, its tokens and the bigrams that start with them (memory capped by flushing), and
``CombinePerKey(SumCountDictPairs)`` sums the pairs of a shard (lifted before the shuffle, and
fanned out: a shard is a hot key), so the bigrams meet c(first) without a join. Nothing holds
the vocabulary on one worker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import pairwise

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.transforms.window import GlobalWindows

from wit_builder.counting import SumCountDictPairs, SumCountDicts
from wit_builder.hashing import shard_of
from wit_builder.io.compressed import Damaged
from wit_builder.queries.dump_reader import DumpError, DumpSlice, MalformedPage, Page, plan_slices, read_slice
from wit_builder.queries.inputs import ERRORS
from wit_builder.queries.languages import lang_key, split_key
from wit_builder.queries.wikitext import wikitext_to_prose
from wit_builder.stage_stats import StatsDoFn
from wit_builder.text.segment import Segmenter, needs_segmenting
from wit_builder.text.tokens import joined_tokens, normalise, phrase_units

# Distinct keys a counting worker holds before emitting its partial sums (~200 MB of counters).
# Most bigrams are seen once anywhere: every flush re-emits the few that recur, and at 300k keys
# 15 flushes sent 3.6M bigram keys for 2.7M distinct (4 at 1M: 3.2M; 1.2 s less on 52M chars).
FLUSH_AT = 1_000_000
# What this part of the stage could not read and counts (the stage's line names them, ``cli``).
MALFORMED_PAGES, PAGES_UNPARSABLE = "malformed_pages", "pages_unparsable"
DUMPS_CUT_SHORT, DUMP_STREAMS_DAMAGED = "dump_files_cut_short", "dump_streams_damaged"
SKIPPED = (MALFORMED_PAGES, PAGES_UNPARSABLE, DUMPS_CUT_SHORT, DUMP_STREAMS_DAMAGED)


class ReadPagesFn(StatsDoFn):
    """Pages of one dump slice; only articles (namespace 0, not redirects) go on. A slice that
    cannot be read to its end keeps the pages before the break; it is counted and named on the
    errors output. Each article goes on with its dump's language: (lang, page)."""

    def process(self, dump_slice: DumpSlice) -> Iterator:
        for page in read_slice(dump_slice):
            if isinstance(page, DumpError):
                self.count(DUMPS_CUT_SHORT)
                yield pvalue.TaggedOutput(ERRORS, (page.label, page.error))
                continue
            if isinstance(page, Damaged):
                self.count(DUMP_STREAMS_DAMAGED)
                where = f"a damaged bz2 stream at byte {page.offset:,} ({page.error}); read on from the next stream"
                yield pvalue.TaggedOutput(ERRORS, (dump_slice.path, where))
                continue
            if isinstance(page, MalformedPage):
                self.count(MALFORMED_PAGES)
                continue
            self.count("pages_read")
            if page.namespace != 0:
                self.count("non_article_pages_skipped")
            elif page.redirect:
                self.count("redirects_skipped")
            else:
                self.count("articles")
                yield dump_slice.lang, page


class LanguageCounts:
    """One language's counts in a bundle, keyed without the language: tokens, bigrams as
    (first, second), and the listed phrases of three tokens or more. Keys get the language and
    their shard once each, at flush (``shard_blobs``), not once per occurrence."""

    def __init__(self) -> None:
        self.unigrams: Counter[str] = Counter()
        self.bigrams: Counter[tuple[str, str]] = Counter()
        self.long_hits: Counter[str] = Counter()
        self.tokens = 0

    def add(self, units: list[str], listed: ListedPhrases | None) -> int:
        """Counts one page's ``phrase_units``; returns its number of phrases."""
        tokens = list(filter(None, units))
        pairs = list(filter(all, pairwise(units)))
        self.unigrams.update(tokens)
        self.bigrams.update(pairs)
        self.tokens += len(tokens)
        if listed is not None and listed.longer:
            self._count_long(units, tokens, listed.longer)
        return len(tokens) - len(pairs)  # each phrase of n tokens holds n - 1 bigrams

    def _count_long(self, units: list[str], tokens: list[str], longer: dict) -> None:
        starts = longer.keys() & set(tokens)
        if not starts:
            return
        for at in [at for at, unit in enumerate(units) if unit in starts]:
            for sequence, key in longer[units[at]]:
                if tuple(units[at : at + len(sequence)]) == sequence:
                    self.long_hits[key] += 1

    def listed_hits(self, listed: ListedPhrases, hits: Counter[str]) -> None:
        """Adds the bundle's occurrences of every listed phrase to ``hits``: one- and two-token
        phrases are read off the token and bigram counts, longer ones were counted per page."""
        for token in listed.singles.keys() & self.unigrams.keys():
            for key in listed.singles[token]:
                hits[key] += self.unigrams[token]
        for pair in listed.pairs.keys() & self.bigrams.keys():
            for key in listed.pairs[pair]:
                hits[key] += self.bigrams[pair]
        hits.update(self.long_hits)

    def shard_blobs(self, lang: str, shards: int) -> tuple[dict[int, dict], dict[int, dict]]:
        """(unigram blobs, bigram blobs) by shard, keys with their language (``lang_key``). A
        bigram goes to its first word's shard, which is that word's unigram shard, so each
        distinct word is hashed once."""
        prefix = lang_key(lang, "")
        unigram_blobs: dict[int, dict[str, int]] = {}
        shard_of_token = {}
        for token, count in self.unigrams.items():
            key = prefix + token
            shard = shard_of_token[token] = shard_of(key, shards)
            blob = unigram_blobs.get(shard)
            if blob is None:
                blob = unigram_blobs[shard] = {}
            blob[key] = count
        bigram_blobs: dict[int, dict[str, int]] = {}
        for (first, second), count in self.bigrams.items():
            shard = shard_of_token[first]
            blob = bigram_blobs.get(shard)
            if blob is None:
                blob = bigram_blobs[shard] = {}
            blob[f"{prefix}{first} {second}"] = count
        return unigram_blobs, bigram_blobs

    def __len__(self) -> int:
        return len(self.unigrams) + len(self.bigrams)


class CountTextFn(beam.DoFn):
    """Token, bigram and phrase counts of article prose, summed per bundle, emitted as shard blobs.

    Every key carries the page's language (``languages.lang_key``: ``de<TAB>Haus``). Unigram
    blobs are sharded by the key, bigram blobs (keys ``de<TAB>a b``) by their first word's key,
    so the PMI join can meet each with the unigram shard holding c(a). ``phrase_index`` (a side
    input) holds each language's titles and WordNet queries (``ListedPhrases``), so their
    occurrences are counted in the same pass. Prose in a script written without spaces is cut
    into words first (``wit_builder.text.segment``), as harvest cuts captions.
    """

    def __init__(self, shards: int):
        self.shards = shards

    def setup(self) -> None:
        self.segmenter = Segmenter()

    def start_bundle(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.languages: dict[str, LanguageCounts] = {}
        self.listed: dict[str, ListedPhrases] = {}
        self.runs = 0  # phrases read: the "phrases" count of stats.json
        self.unparsed = 0  # pages whose wikitext the parser could not read

    def process(self, element: tuple[str, Page], phrase_index: dict[str, ListedPhrases]) -> Iterator:
        lang, page = element
        try:
            prose = normalise(wikitext_to_prose(page.text))
        except Exception:  # the wikitext parser failing on one page costs that page alone
            self.unparsed += 1
            return
        counts = self.languages.get(lang)
        if counts is None:
            counts = self.languages[lang] = LanguageCounts()
            if lang in phrase_index:
                self.listed[lang] = phrase_index[lang]
        self.runs += counts.add(phrase_units(self.segmenter.spaced(prose)), self.listed.get(lang))
        if sum(map(len, self.languages.values())) > FLUSH_AT:
            yield from self._flush(windowed=False)

    def finish_bundle(self) -> Iterator:
        yield from self._flush(windowed=True)

    def _flush(self, windowed: bool) -> Iterator:
        def emit(tag, value):
            return pvalue.TaggedOutput(tag, GlobalWindows.windowed_value(value) if windowed else value)

        unigram_blobs: dict[int, dict] = {}
        bigram_blobs: dict[int, dict] = {}
        hits: Counter[str] = Counter()
        tokens = 0
        for lang, counts in self.languages.items():
            unigrams, bigrams = counts.shard_blobs(lang, self.shards)
            for merged_blobs, blobs in ((unigram_blobs, unigrams), (bigram_blobs, bigrams)):
                for shard, blob in blobs.items():
                    if shard in merged_blobs:
                        merged_blobs[shard].update(blob)  # keys differ: each carries its language
                    else:
                        merged_blobs[shard] = blob
            if lang in self.listed:
                counts.listed_hits(self.listed[lang], hits)
            tokens += counts.tokens
        for shard, blob in unigram_blobs.items():  # a bigram's shard is its first token's
            yield emit("counts", (shard, (blob, bigram_blobs.get(shard, {}))))
        if hits:
            yield emit("listed_hits", dict(hits))
        for name, value in (("tokens", tokens), ("phrases", self.runs), (PAGES_UNPARSABLE, self.unparsed)):
            if value:
                yield emit("stats", (name, value))
        for lang, counts in self.languages.items():
            if counts.tokens:
                yield emit("language_stats", (lang, counts.tokens))
            if bigrams := sum(counts.bigrams.values()):
                yield emit("bigram_totals", (lang, bigrams))
        self._reset()


class ListedPhrases:
    """One language's listed queries (titles, WordNet lemmas) as token sequences, split by
    length: one token (``singles``: token → keys) and two (``pairs``: (a, b) → keys) are read
    off the counts; three or more (``longer``: first token → [(sequence, key)]) are looked for
    on each page."""

    def __init__(self) -> None:
        self.singles: dict[str, list[str]] = {}
        self.pairs: dict[tuple[str, str], list[str]] = {}
        self.longer: dict[str, list[tuple[tuple[str, ...], str]]] = {}

    def add(self, sequence: tuple[str, ...], key: str) -> None:
        if len(sequence) == 1:
            self.singles.setdefault(sequence[0], []).append(key)
        elif len(sequence) == 2:
            self.pairs.setdefault((sequence[0], sequence[1]), []).append(key)
        else:
            self.longer.setdefault(sequence[0], []).append((sequence, key))


def phrase_index(keys: list[str]) -> dict[str, ListedPhrases]:
    """Language → its listed queries (``lang_key``s) that are tokens joined by spaces, once cut
    into words where their script is written without spaces ("北京天安门" is the sequence 北京,
    天安门, as the prose it is counted in)."""
    segmenter = Segmenter() if any(needs_segmenting(key) for key in keys) else None
    index: dict[str, ListedPhrases] = {}
    for key in sorted(set(keys)):
        lang, query = split_key(key)
        sequence = joined_tokens(segmenter.spaced(query) if segmenter else query)
        if sequence:
            index.setdefault(lang, ListedPhrases()).add(sequence, key)
    return index


def _merge_per_shard(fanout: int) -> beam.PTransform:
    combine = beam.CombinePerKey(SumCountDictPairs())
    return combine.with_hot_key_fanout(fanout) if fanout > 1 else combine


class CountDumpText(beam.PTransform):
    """Dump files in; count shards, the occurrences of every listed phrase (``phrase_index``'s,
    as a singleton side input), stats and errors out."""

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
        ).with_outputs("counts", "listed_hits", "stats", "language_stats", "bigram_totals")
        # A shard key gets one partial blob per bundle: thousands at Wikipedia scale, a hot key.
        # Fan-out merges them in ``hot_key_fanout`` intermediate groups first.
        return {
            # (shard, (unigram counts, counts of the bigrams whose first token is in the shard))
            "shard_counts": counted.counts | "SumShardCounts" >> _merge_per_shard(self.hot_key_fanout),
            # a singleton side input: {listed phrase key: occurrences}
            "phrase_counts": counted.listed_hits
            | "SumListedHits" >> beam.CombineGlobally(SumCountDicts()).as_singleton_view(),
            "stats": [pages.stats, counted.stats],
            "language_stats": counted.language_stats,
            "bigram_totals": counted.bigram_totals,  # (language, bigrams counted) per bundle
            "errors": [pages[ERRORS]],
        }
