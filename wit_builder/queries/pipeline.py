"""The queries stage as a Beam pipeline: count the dump, score the candidates, write the list.

    dump files ─► slices ─► pages ─► prose ─► token counts ─┬─► unigrams (count ≥ 100, or a share)
      (each with its language, from <siteinfo>)              ├─► bigrams ─► join c(a), c(b) ─► PMI ≥ 30
    pageview files ─► (title, views) ─► sum ─► views ≥ 70 ──┤   (titles and WordNet lemmas are
    WordNet folder, LMF wordnets ─► lemmas ─────────────────┘    counted in the text as phrases)
                                         └─► one worker: per language, union (or target size, or
                                             shares), queries.parquet/txt, stats.json

Every count is keyed by language (``languages``): a run over dumps of several wikis builds each
language's list by its own rules, in one pass.

Each part has its own module: ``inputs`` (what the stage reads, checked first),
``phrase_sources`` (titles, WordNet: lists of phrases), ``text_counts`` (the dump's prose
counted in shard blobs), ``word_candidates`` (unigrams, and bigrams by PMI from two shard-wise
joins) and ``writer`` (union or target size, and the files). Only the final list (~500k rows)
meets on one worker. Every rejected or skipped input is counted in ``stats.json``.
"""

from __future__ import annotations

import apache_beam as beam
from apache_beam import pvalue

from wit_builder.queries.inputs import QueryInputs
from wit_builder.queries.languages import split_key
from wit_builder.queries.phrase_sources import PHRASE_SOURCES
from wit_builder.queries.selection import SOURCE_ORDER, Candidate
from wit_builder.queries.settings import QueryRules, QueryTuning
from wit_builder.queries.text_counts import CountDumpText, phrase_index
from wit_builder.queries.word_candidates import WordCandidates
from wit_builder.queries.writer import gather, write_query_list
from wit_builder.stage_stats import run_once


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
        pipeline = pbegin.pipeline
        tallies = Tallies()
        listed, totals = self._listed_phrases(pipeline, tallies)
        # The phrases to count in the text: every listed query.
        keys = tuple(phrases | f"{name}Queries" >> beam.Keys() for name, phrases in listed.items())
        index = run_once(pipeline, "PhraseIndex", phrase_index, pvalue.AsList(keys | "PhraseQueries" >> beam.Flatten()))
        dumps = [(path, self.inputs.language_of(path)) for path in self.inputs.wiki_dump]
        counts = tallies.take(index | "CountDumpText" >> CountDumpText(dumps, self.shards, self.hot_key_fanout))
        word_counts = {name: counts[name] for name in ("shard_counts", "bigram_totals")}
        words = tallies.take(word_counts | "WordCandidates" >> WordCandidates(self.rules, self.shards))
        candidates = {
            "unigram": words["unigram"],
            "bigram": words["bigram"],
            **with_occurrences(listed, counts["phrase_counts"]),
        }
        tokens = counts["language_stats"] | "SumLanguageStats" >> beam.CombinePerKey(sum)
        languages = {"tokens": tokens, "words": words["vocabulary"], **{f"{n}s": t for n, t in totals.items()}}
        return {**{source: candidates[source] for source in SOURCE_ORDER}, **tallies.summed(), "languages": languages}

    def _listed_phrases(self, pipeline: beam.Pipeline, tallies: Tallies) -> tuple[dict, dict]:
        """Each phrase source's (query key, score) PCollection, empty where its inputs are not
        given, and the per-language totals of those that have them (titles with views)."""
        listed, totals = {}, {}
        for source in PHRASE_SOURCES:
            if not source.wanted(self.inputs):
                listed[source.name] = pipeline | f"No{source.name}" >> beam.Create([])
                continue
            read = source.read(pipeline, self.inputs, self.rules)
            tallies.take({"stats": read.stats, "errors": read.errors})
            listed[source.name] = read.phrases
            if read.totals is not None:
                totals[source.name] = read.totals
        return listed, totals


class Tallies:
    """The stats and errors outputs of the stage's parts, gathered as the parts are wired, then
    summed once: every part returns its ``stats`` (and maybe ``errors``) as lists of
    PCollections."""

    def __init__(self) -> None:
        self.stats: list[beam.PCollection] = []
        self.errors: list[beam.PCollection] = []

    def take(self, outputs: dict) -> dict:
        """Keeps a part's ``stats`` and ``errors``; returns its outputs, to use the rest."""
        self.stats += outputs.get("stats", [])
        self.errors += outputs.get("errors", [])
        return outputs

    def summed(self) -> dict[str, beam.PCollection]:
        stats = self.stats | "AllStats" >> beam.Flatten() | "SumStats" >> beam.CombinePerKey(sum)
        return {"stats": stats, "errors": self.errors | "AllErrors" >> beam.Flatten()}


def with_occurrences(listed: dict[str, beam.PCollection], occurrences: beam.PCollection) -> dict:
    """Each phrase source's candidates: its phrases with their occurrences in the text (a
    singleton side input of counts by query key)."""
    return {
        name: phrases
        | f"{name}Candidates"
        >> beam.Map(
            lambda kv, seen, name=name: Candidate(
                split_key(kv[0])[1], name, float(kv[1]), seen.get(kv[0], 0), split_key(kv[0])[0]
            ),
            occurrences,
        )
        for name, phrases in listed.items()
    }


def build_pipeline(
    pipeline: beam.Pipeline,
    inputs: QueryInputs,
    rules: QueryRules,
    tuning: QueryTuning,
    out_dir: str,
):
    """Wire the stage into ``pipeline``; returns the PCollection holding the stats report."""
    candidates = pipeline | "BuildQueryList" >> BuildQueryList(inputs, rules, tuning)
    side_inputs = gather(candidates, rules.target_size)
    stats, errors = pvalue.AsDict(candidates["stats"]), pvalue.AsList(candidates["errors"])
    for name, per_language in candidates["languages"].items():
        side_inputs[f"languages_{name}"] = pvalue.AsDict(per_language)
    return run_once(pipeline, "WriteQueryList", write_query_list, out_dir, rules, inputs, stats, errors, **side_inputs)
