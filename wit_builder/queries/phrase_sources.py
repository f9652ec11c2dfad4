"""The queries that are phrases from lists: article titles by pageviews, and WordNet synset
names. Each is a ``PhraseSource``: it reads its input into (query, score) pairs, and the
pipeline counts each phrase's occurrences in the dump's prose in the same pass as the words.

A new list of phrases (Wikidata labels, a curated list...) is one more ``PhraseSource`` in
``PHRASE_SOURCES``, with its input in ``QueryInputs`` and its place in
``selection.SOURCE_ORDER``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import apache_beam as beam
import fsspec
from apache_beam import pvalue

from wit_builder.io.lines import bounded_lines
from wit_builder.queries.inputs import ERRORS, QueryInputs
from wit_builder.queries.pageviews import PageviewRules, parse_line
from wit_builder.queries.settings import QueryRules
from wit_builder.queries.wordnet import MalformedLine, read_lemmas
from wit_builder.stage_stats import stat
from wit_builder.text.tokens import is_query_like


@dataclass
class Phrases:
    """What a phrase source read: (query, score) pairs, and its stats and errors."""

    phrases: beam.PCollection
    stats: list
    errors: list


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


class PhraseSource:
    """A list of phrases that become queries under the source name ``name``."""

    name: str

    def wanted(self, inputs: QueryInputs) -> bool:
        """Whether the stage was given this source's input."""
        raise NotImplementedError

    def read(self, pipeline: beam.Pipeline, inputs: QueryInputs, rules: QueryRules) -> Phrases:
        raise NotImplementedError


class PageviewTitles(PhraseSource):
    """Titles with their views summed over every pageview file, above ``min_title_views``."""

    name = "title"

    def wanted(self, inputs: QueryInputs) -> bool:
        return bool(inputs.pageviews)

    def read(self, pipeline: beam.Pipeline, inputs: QueryInputs, rules: QueryRules) -> Phrases:
        pageview_rules = PageviewRules(rules.pageview_projects, rules.min_hourly_views)
        views = (
            pipeline
            | "PageviewFiles" >> beam.Create(list(inputs.pageviews))
            | "SpreadPageviewFiles" >> beam.Reshuffle()
            | "ReadPageviews"
            >> beam.FlatMap(read_pageview_file, pageview_rules).with_outputs("stats", ERRORS, main="views")
        )
        title_views = (
            views.views
            | "SumViews" >> beam.CombinePerKey(sum)
            | "TitleThreshold"
            >> beam.Filter(
                lambda kv: is_query_like(kv[0]) and (rules.target_size is not None or kv[1] >= rules.min_title_views)
            )
        )
        return Phrases(title_views, [views.stats], [views[ERRORS]])


class WordNetNames(PhraseSource):
    """Synset names (or every lemma, with ``wordnet_all_lemmas``) of a WordNet 3.0 database."""

    name = "wordnet"

    def wanted(self, inputs: QueryInputs) -> bool:
        return bool(inputs.wordnet)

    def read(self, pipeline: beam.Pipeline, inputs: QueryInputs, rules: QueryRules) -> Phrases:
        read = (
            pipeline
            | "WordNetFolder" >> beam.Create([inputs.wordnet])
            | "ReadWordNet"
            >> beam.FlatMap(read_wordnet_queries, rules.wordnet_all_lemmas).with_outputs("stats", main="names")
        )
        names = (
            read.names
            | "WordNetQueryLike" >> beam.Filter(is_query_like)
            | "DistinctWordNet" >> beam.Distinct()
            | "WordNetScore" >> beam.Map(lambda query: (query, 0.0))
        )
        return Phrases(names, [read.stats], [])


PHRASE_SOURCES: tuple[PhraseSource, ...] = (PageviewTitles(), WordNetNames())
