"""The queries stage's last step, on one worker: every source's candidates gathered, each
language's list made by its rules (the union of its sources, the target size, or Meta CLIP 2's
shares), and the three output files: ``queries.parquet``, ``queries.txt`` and ``stats.json``.

``queries.parquet`` has a ``lang`` column when any query is in a language other than English;
an English-only list is written without it, byte for byte as before languages existed (a reader
takes a list without it as English)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, replace

import apache_beam as beam
from apache_beam import pvalue

from wit_builder.atomic import write_atomically
from wit_builder.io.json_files import write_json
from wit_builder.queries.inputs import QueryInputs
from wit_builder.queries.languages import ENGLISH, share_of
from wit_builder.queries.selection import (
    ALWAYS_IN,
    NUMBER_SOURCE,
    SOURCE_ORDER,
    Candidate,
    select_target_size,
    union,
)
from wit_builder.queries.settings import QueryRules
from wit_builder.queries.word_candidates import bigram_quota, unigram_quota
from wit_builder.schemas import table_from_rows, write_table


def gather(candidates: dict, target_size: int | None) -> dict:
    """One list per source, as side inputs of the last step; with a target size, only each
    source's best ``target_size``."""
    gathered = {}
    for source in SOURCE_ORDER:
        collection = candidates[source]
        if target_size is None:
            gathered[source] = pvalue.AsList(collection)
        else:
            best = beam.combiners.TopCombineFn(target_size, key=Candidate.rank_key, reverse=True)
            gathered[source] = collection | f"Top{source}" >> beam.CombineGlobally(best).as_singleton_view()
    return gathered


def _per_source(counts: Counter) -> dict[str, int]:
    """Queries per source, in the sources' order; ``number`` only where unseen numbers were added."""
    names = (*SOURCE_ORDER, NUMBER_SOURCE) if counts.get(NUMBER_SOURCE) else SOURCE_ORDER
    return {s: counts.get(s, 0) for s in names}


def language_list(
    lang: str, by_source: dict[str, list[Candidate]], rules: QueryRules, words: dict[str, int], titles: dict[str, int]
) -> tuple[list[Candidate], dict[str, int], dict[str, int] | None]:
    """One language's queries, the overlaps removed per source, and its quotas (ranked
    languages) or None (threshold languages)."""
    numbers = {c.query: c for c in by_source["unigram"] if c.query in ALWAYS_IN}
    quotas = None
    if rules.ranked(lang):
        quotas = {
            "unigram": unigram_quota(lang, words, rules),
            "bigram": bigram_quota(lang, words, rules),
            "title": share_of(titles.get(lang, 0), rules.title_share, rules.max_titles),
        }
        chosen, overlap = union(by_source, quotas)
    elif rules.target_size is None:
        chosen, overlap = union(by_source)
    else:
        forced = [numbers.get(n, Candidate(n, "unigram", 0.0, 0, lang)) for n in ALWAYS_IN]
        chosen, overlap = select_target_size(by_source, rules.target_size, forced)
    # A number the dumps never showed is a query of its own source, whichever way it came in
    # (``--target-size`` forces it in as a unigram, to count towards the unigrams' share).
    unseen = {n for n in ALWAYS_IN if n not in numbers}
    chosen = [replace(c, source=NUMBER_SOURCE) if c.source == "unigram" and c.query in unseen else c for c in chosen]
    chosen_queries = {c.query for c in chosen}
    chosen += [Candidate(n, NUMBER_SOURCE, 0.0, 0, lang) for n in ALWAYS_IN if n not in chosen_queries]
    overlap["numbers_added_unseen"] = sum(c.source == NUMBER_SOURCE for c in chosen)
    return chosen, overlap, quotas


def write_query_list(
    out_dir: str,
    rules: QueryRules,
    inputs: QueryInputs,
    stats: dict,
    errors: list[tuple[str, str]],
    languages_tokens: dict[str, int],
    languages_words: dict[str, int],
    languages_titles: dict[str, int] | None = None,
    **by_source: list[Candidate],
) -> dict:
    """The last step, on one worker: each language's list, then the three output files."""
    titles = languages_titles or {}
    langs = sorted({c.lang for source in SOURCE_ORDER for c in by_source[source]} | set(inputs.languages))
    chosen: list[Candidate] = []
    overlap = dict.fromkeys(SOURCE_ORDER, 0)
    unseen = 0
    per_language = {}
    for lang in langs:
        mine = {source: [c for c in by_source[source] if c.lang == lang] for source in SOURCE_ORDER}
        queries, removed, quotas = language_list(lang, mine, rules, languages_words, titles)
        unseen += removed.pop("numbers_added_unseen")
        for source, count in removed.items():
            overlap[source] += count
        chosen += queries
        sources = Counter(c.source for c in queries)
        per_language[lang] = {
            "rule": "shares" if quotas is not None else "thresholds",
            "tokens": languages_tokens.get(lang, 0),
            "distinct_words": languages_words.get(lang, 0),
            "titles_with_views": titles.get(lang) if lang in titles else None,
            "quotas": quotas,
            "candidates_per_source": {s: len(mine[s]) for s in SOURCE_ORDER},
            "queries_per_source": _per_source(sources),
            "queries": len(queries),
        }
    chosen.sort(key=lambda c: (c.lang, c.query))
    out = out_dir.rstrip("/")
    table = table_from_rows([asdict(c) for c in chosen], "queries")
    english_only = all(c.lang == ENGLISH for c in chosen)
    if english_only:
        write_table(table.drop_columns(["lang"]), f"{out}/queries.parquet", "queries", without=("lang",))
    else:
        write_table(table, f"{out}/queries.parquet", "queries")
    write_atomically(f"{out}/queries.txt", "".join(query + "\n" for query in dict.fromkeys(c.query for c in chosen)))
    per_source = Counter(c.source for c in chosen)
    report = {
        "inputs": {
            "wiki_dump": list(inputs.wiki_dump),
            "dump_languages": dict(zip(inputs.wiki_dump, inputs.dump_languages, strict=False)),
            "dumps_language_assumed": list(inputs.languages_assumed),
            "pageviews": list(inputs.pageviews),
            "wordnet": inputs.wordnet,
            "wordnet_lmf": list(inputs.wordnet_lmf),
        },
        "unreadable_files": [{"path": path, "error": error} for path, error in [*inputs.unreadable, *sorted(errors)]],
        "rules": asdict(rules),
        "counts": dict(sorted(stats.items())),
        "candidates_per_source": {s: len(by_source[s]) for s in SOURCE_ORDER},
        "queries_per_source": _per_source(per_source),
        "overlap_removed": overlap,
        "numbers_added_unseen": unseen,
        "languages": per_language,
        "queries": len(chosen),
    }
    write_json(f"{out}/stats.json", report, schema="stats.queries")
    return report
