"""The queries that are phrases from lists: article titles by pageviews, WordNet synset names,
and the lemmas of multilingual wordnets. Each is a ``PhraseSource``: it reads its input into
(key, score) pairs, the key naming the phrase's language (``languages.lang_key``), and the
pipeline counts each phrase's occurrences in its language's prose in the same pass as the words.

A new list of phrases (Wikidata labels, a curated list...) is one more ``PhraseSource`` in
``PHRASE_SOURCES``, with its input in ``QueryInputs`` and its place in
``selection.SOURCE_ORDER``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import apache_beam as beam
from apache_beam import pvalue

from wit_builder.io.compressed import Damaged
from wit_builder.io.lines import file_lines
from wit_builder.queries.inputs import ERRORS, QueryInputs
from wit_builder.queries.languages import ENGLISH, lang_key, split_key
from wit_builder.queries.pageviews import PageviewRules, parse_line
from wit_builder.queries.settings import QueryRules
from wit_builder.queries.wordnet import MalformedLine, read_lemmas
from wit_builder.queries.wordnet_lmf import read_lmf_lemmas
from wit_builder.stage_stats import stat
from wit_builder.text.tokens import is_query_like

# What this part of the stage could not read and counts (the stage's line names them, ``cli``).
PAGEVIEW_LINES_MALFORMED, PAGEVIEW_STREAMS_DAMAGED = "pageview_lines_malformed", "pageview_streams_damaged"
PAGEVIEWS_CUT_SHORT, PAGEVIEWS_UNREADABLE = "pageview_files_cut_short", "pageview_files_unreadable"
WORDNET_LINES_MALFORMED = "wordnet_lines_malformed"
SKIPPED = (PAGEVIEW_LINES_MALFORMED, PAGEVIEW_STREAMS_DAMAGED, PAGEVIEWS_CUT_SHORT, PAGEVIEWS_UNREADABLE,
           WORDNET_LINES_MALFORMED)  # fmt: skip


@dataclass
class Phrases:
    """What a phrase source read: (key, score) pairs, and its stats and errors; ``totals``, where
    a ranked language's list takes a share of the source, is (language, phrases read)."""

    phrases: beam.PCollection
    stats: list
    errors: list
    totals: beam.PCollection | None = None


def read_pageview_file(path: str, rules: PageviewRules) -> Iterator:
    """(title key, views) summed over one file, and the count of lines by fate. A file that cannot
    be read to its end (not the compression its name says, cut off) keeps the lines before the
    break, and is counted and named on the errors output."""
    views: Counter[str] = Counter()
    fates: Counter[str] = Counter()
    try:
        for line in file_lines(path):
            if isinstance(line, Damaged):  # a damaged bz2 stream: its lines are lost, the next ones read
                fates[PAGEVIEW_STREAMS_DAMAGED] += 1
                continue
            parsed = parse_line(line, rules) if isinstance(line, str) else "a line too long to read"
            if isinstance(parsed, tuple):
                fates["pageview_lines_counted"] += 1
                views[lang_key(parsed[0], parsed[1])] += parsed[2]
            else:
                fates["pageview_lines_not_counted" if parsed is None else PAGEVIEW_LINES_MALFORMED] += 1
    except (OSError, EOFError, ValueError) as error:
        fates[PAGEVIEWS_CUT_SHORT if fates else PAGEVIEWS_UNREADABLE] += 1
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
            yield lang_key(ENGLISH, found[0])
    if malformed:
        yield stat(WORDNET_LINES_MALFORMED, malformed)


def read_lmf_queries(path: str) -> Iterator:
    """The lemma keys of one LMF wordnet; its malformed parts are counted and named."""
    for found in read_lmf_lemmas(path):
        if isinstance(found, MalformedLine):
            yield stat("wordnet_lmf_malformed", 1)
            yield pvalue.TaggedOutput(ERRORS, (found.where, found.reason))
        else:
            yield lang_key(*found)


def _query_like(key: str, rules: QueryRules) -> bool:
    query = split_key(key)[1]
    return is_query_like(query) and len(query) <= rules.max_query_chars


class PhraseSource:
    """A list of phrases that become queries under the source name ``name``."""

    name: str

    def wanted(self, inputs: QueryInputs) -> bool:
        """Whether the stage was given this source's input."""
        raise NotImplementedError

    def read(self, pipeline: beam.Pipeline, inputs: QueryInputs, rules: QueryRules) -> Phrases:
        raise NotImplementedError


class PageviewTitles(PhraseSource):
    """Titles with their views summed over every pageview file: above ``min_title_views`` in a
    threshold language; in a ranked language the best ``max_titles`` of each pass on, and the
    writer keeps the share ``title_share`` of all of that language's titles (``totals``)."""

    name = "title"

    def wanted(self, inputs: QueryInputs) -> bool:
        return bool(inputs.pageviews)

    def read(self, pipeline: beam.Pipeline, inputs: QueryInputs, rules: QueryRules) -> Phrases:
        pageview_rules = PageviewRules(rules.pageview_projects, rules.min_hourly_views, inputs.languages)
        views = (
            pipeline
            | "PageviewFiles" >> beam.Create(list(inputs.pageviews))
            | "SpreadPageviewFiles" >> beam.Reshuffle()
            | "ReadPageviews"
            >> beam.FlatMap(read_pageview_file, pageview_rules).with_outputs("stats", ERRORS, main="views")
        )
        summed = (
            views.views
            | "SumViews" >> beam.CombinePerKey(sum)
            | "TitleQueryLike" >> beam.Filter(lambda kv: _query_like(kv[0], rules))
        )
        thresholded = summed | "TitleThreshold" >> beam.Filter(
            lambda kv: (
                not rules.ranked(split_key(kv[0])[0])
                and (rules.target_size is not None or kv[1] >= rules.min_title_views)
            )
        )
        ranked = summed | "RankedLanguages" >> beam.Filter(lambda kv: rules.ranked(split_key(kv[0])[0]))
        totals = (
            ranked
            | "TitleLanguage" >> beam.Map(lambda kv: (split_key(kv[0])[0], 1))
            | "TitlesPerLanguage" >> beam.CombinePerKey(sum)
        )
        best = (
            ranked
            | "ByLanguage" >> beam.Map(lambda kv: (split_key(kv[0])[0], (kv[1], kv[0])))
            | "BestTitles" >> beam.combiners.Top.PerKey(rules.max_titles, key=_title_rank)
            | "TitlesBack" >> beam.FlatMap(lambda kv: [(key, views) for views, key in kv[1]])
        )
        titles = (thresholded, best) | "AllTitles" >> beam.Flatten()
        return Phrases(titles, [views.stats], [views[ERRORS]], totals)


def _title_rank(item: tuple[int, str]) -> tuple[int, str]:
    """More views first; ties by the title, the later one lower (deterministic)."""
    views, key = item
    return views, "".join(chr(0x10FFFF - ord(c)) for c in key)


class WordNetNames(PhraseSource):
    """Synset names (or every lemma, with ``wordnet_all_lemmas``) of a WordNet 3.0 database, in
    English, and every lemma of the multilingual wordnets (LMF), each in its lexicon's language."""

    name = "wordnet"

    def wanted(self, inputs: QueryInputs) -> bool:
        return bool(inputs.wordnet or inputs.wordnet_lmf)

    def read(self, pipeline: beam.Pipeline, inputs: QueryInputs, rules: QueryRules) -> Phrases:
        read = (
            pipeline
            | "WordNetFolder" >> beam.Create([inputs.wordnet] if inputs.wordnet else [])
            | "ReadWordNet"
            >> beam.FlatMap(read_wordnet_queries, rules.wordnet_all_lemmas).with_outputs("stats", main="names")
        )
        lmf = (
            pipeline
            | "LMFFiles" >> beam.Create(list(inputs.wordnet_lmf))
            | "ReadLMF" >> beam.FlatMap(read_lmf_queries).with_outputs("stats", ERRORS, main="lemmas")
        )
        names = (
            (read.names, lmf.lemmas)
            | "AllWordNets" >> beam.Flatten()
            | "WordNetQueryLike" >> beam.Filter(_query_like, rules)
            | "DistinctWordNet" >> beam.Distinct()
            | "WordNetScore" >> beam.Map(lambda query: (query, 0.0))
        )
        return Phrases(names, [read.stats, lmf.stats], [lmf[ERRORS]])


PHRASE_SOURCES: tuple[PhraseSource, ...] = (PageviewTitles(), WordNetNames())
