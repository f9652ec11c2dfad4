"""The queries stage's settings: its inputs, its rules and its tuning, with their flags."""

from __future__ import annotations

from dataclasses import dataclass

from wit_builder.stage_settings import Settings, nested, option

INPUTS = "inputs (local paths, globs or fsspec URLs; flags may repeat)"


def comma_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True, kw_only=True)
class QueryRules(Settings):
    """Every threshold of the stage (defaults: MetaCLIP's build of CLIP's list)."""

    min_unigram_count: int = option(100, metavar="N", help="a word seen this often is a query", low=1, high=10**12)
    min_bigram_pmi: float = option(
        30.0, metavar="PMI", help="a word pair with this PMI is a query", low=-1000, high=1000
    )
    min_bigram_count: int = option(1, metavar="N", help="a word pair must be seen this often", low=1, high=10**12)
    min_title_views: int = option(
        70, metavar="N", help="a title viewed this often (all files given) is a query", low=0, high=10**12
    )
    min_hourly_views: int = option(
        50, metavar="N", help="an hourly value counts only from this many views", low=0, high=10**12
    )
    pageview_projects: tuple[str, ...] = option(
        ("{lang}", "{lang}.wikipedia"),
        metavar="CODES",
        parse=comma_list,
        shown="{lang},{lang}.wikipedia",
        help="project codes whose views count, comma-separated; {lang} stands for each dump's language "
        "(add {lang}.m for mobile)",
    )
    wordnet_all_lemmas: bool = option(False, help="add every lemma, not only synset names")
    target_size: int | None = option(
        None,
        metavar="N",
        help="instead of the thresholds: the best-ranked N queries in MetaCLIP's source proportions "
        "(threshold languages only)",
        low=1,
        high=10**9,
    )
    threshold_languages: tuple[str, ...] = option(
        ("en",),
        metavar="CODES",
        parse=comma_list,
        shown="en",
        help="languages whose lists keep CLIP's thresholds above; every other language is ranked by the shares below",
    )
    default_language: str = option(
        "en", metavar="CODE", help="the language of a dump whose <siteinfo> names none (counted)"
    )
    unigram_share: float = option(0.10, metavar="F", help="ranked languages: the top F of their words", low=0, high=1)
    max_unigrams: int = option(251_465, metavar="N", help="ranked languages: at most N words", low=0, high=10**9)
    bigram_share: float = option(
        0.40, metavar="F", help="ranked languages: bigrams (PMI above the threshold), at most F of their words",
        low=0, high=100,
    )  # fmt: skip
    max_bigrams: int = option(100_646, metavar="N", help="ranked languages: at most N bigrams", low=0, high=10**9)
    title_share: float = option(
        0.76, metavar="F", help="ranked languages: the top F of their titles by views", low=0, high=1
    )
    max_titles: int = option(61_235, metavar="N", help="ranked languages: at most N titles", low=0, high=10**9)
    max_query_chars: int = option(
        256, metavar="N", help="queries longer than N characters are dropped (every language)", low=1, high=10**6
    )

    def ranked(self, lang: str) -> bool:
        """Whether ``lang``'s list is ranked by shares (Meta CLIP 2) rather than thresholded (CLIP)."""
        return lang not in self.threshold_languages


@dataclass(frozen=True, kw_only=True)
class QueryTuning(Settings):
    """How the counting is spread over workers; the output does not depend on it."""

    count_shards: int = option(
        64,
        metavar="S",
        help="counts travel in S shards; a worker holds 1/S of the vocabulary at a time (thousands for full Wikipedia)",
        low=1,
        high=100_000,
    )
    hot_key_fanout: int = option(
        1,
        metavar="F",
        help="merge each shard's partial counts in F groups first (1: off; pays only with fewer shards than workers)",
        low=1,
        high=1024,
    )


@dataclass(frozen=True, kw_only=True)
class QueriesSettings(Settings):
    """``wit-builder queries``."""

    wiki_dump: tuple[str, ...] = option(
        metavar="GLOB",
        group=INPUTS,
        role="input",
        help="MediaWiki XML dump files (.xml, .xml.bz2, multistream .bz2 with its index)",
    )
    pageviews: tuple[str, ...] = option(
        (),
        metavar="GLOB",
        group=INPUTS,
        role="input",
        help="pageview dumps (hourly pageviews-*.gz or per-article files); none: no titles",
    )
    wordnet: str | None = option(
        None, metavar="DIR", group=INPUTS, role="input", help="a WordNet 3.0 database folder; none: no WordNet queries"
    )
    wordnet_lmf: tuple[str, ...] = option(
        (),
        metavar="GLOB",
        group=INPUTS,
        role="input",
        help="multilingual wordnets in Global WordNet LMF XML (Open Multilingual Wordnet's files): every lemma, "
        "by its lexicon's language",
    )
    out: str = option(metavar="DIR", role="out", help="writes queries.parquet, queries.txt, stats.json")
    rules: QueryRules = nested(QueryRules, group="rules (defaults: MetaCLIP's build of CLIP's list)")
    tuning: QueryTuning = nested(QueryTuning, group="tuning")
