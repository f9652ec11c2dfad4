"""What the queries stage reads, checked before the pipeline starts: every path exists (a typo
fails at once, naming the path), and the dumps open as MediaWiki XML (those that do not are
left out and listed in stats.json)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import fsspec

from wit_builder.queries.dump_reader import inspect_dump, is_stream_index

DUMPS = "MediaWiki XML dumps (.xml, .xml.bz2, multistream .bz2)"
ERRORS = "errors"  # the tag of (file, what went wrong) for inputs read only in part, or not at all


@dataclass(frozen=True)
class QueryInputs:
    wiki_dump: tuple[str, ...]
    pageviews: tuple[str, ...] = ()
    wordnet: str | None = None
    wordnet_lmf: tuple[str, ...] = ()
    unreadable: tuple[tuple[str, str], ...] = ()  # (dump, why) left out before the run
    dump_languages: tuple[str, ...] = ()  # each dump's language, from its <siteinfo>; () is English
    languages_assumed: tuple[str, ...] = ()  # the dumps whose <siteinfo> named no language

    def language_of(self, dump: str) -> str:
        if not self.dump_languages:
            return "en"
        return self.dump_languages[self.wiki_dump.index(dump)]

    @property
    def languages(self) -> tuple[str, ...]:
        """The dumps' languages, sorted."""
        return tuple(sorted(set(self.dump_languages))) or ("en",)


def resolve_inputs(
    wiki_dump: list[str], pageviews: list[str], wordnet: str | None, wordnet_lmf: list[str] = ()
) -> QueryInputs:
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
    lmf = input_files("--wordnet-lmf", list(wordnet_lmf), "LMF wordnets", None, "") if wordnet_lmf else []
    return QueryInputs(wiki_dump=tuple(dumps), pageviews=tuple(views), wordnet=wordnet, wordnet_lmf=tuple(lmf))


def readable_dumps(inputs: QueryInputs, default_language: str = "en") -> QueryInputs:
    """The inputs with the dumps that do not open as MediaWiki XML left out and listed (they go
    to stats.json), and each readable dump's language from its ``<siteinfo>`` (``default_language``
    for one that names none, listed); ``StageFailed`` when none opens."""
    from wit_builder.errors import StageFailed
    from wit_builder.io.chunks import none_readable

    good, languages, assumed, bad = [], [], [], []
    for path in inputs.wiki_dump:
        problem, lang = inspect_dump(path)
        if problem:
            bad.append((path, problem))
            continue
        good.append(path)
        languages.append(lang or default_language)
        if lang is None:
            assumed.append(path)
    if not good:
        raise StageFailed(none_readable(bad, DUMPS))
    return dataclasses.replace(
        inputs,
        wiki_dump=tuple(good),
        unreadable=tuple(bad),
        dump_languages=tuple(languages),
        languages_assumed=tuple(assumed),
    )
