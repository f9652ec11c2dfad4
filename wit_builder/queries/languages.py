"""Queries in any language: which language a dump is, how a count's key carries its language,
and the rules of each language's list.

- **A dump's language** is its wiki's: ``<dbname>`` in ``<siteinfo>`` (``dewiki`` is ``de``,
  ``zh_yuewiki`` is ``zh-yue``, the code of its pageview project), else the root's ``xml:lang``;
  never the file's name. A dump stating neither is read as ``--default-language`` (English)
  and counted as ``dumps_language_assumed``.
- **Keys.** Every count travels keyed ``LANG<TAB>TEXT`` (``lang_key``), so one pass over dumps of
  many wikis counts each language apart: "die" in German prose and "die" in English prose are
  two words, and a bigram's PMI uses its own language's totals.
- **Rules.** The languages in ``--threshold-languages`` (English by default) keep CLIP's
  thresholds (``--min-unigram-count`` and the rest), so the English list is what it was. Every
  other language is ranked, as Meta CLIP 2 builds its lists: the top ``--unigram-share`` (10%)
  of its distinct words, at most ``--max-unigrams`` (251,465); bigrams at or above
  ``--min-bigram-pmi`` by PMI, at most ``--bigram-share`` (40%) of its unigrams and
  ``--max-bigrams`` (100,646); the top ``--title-share`` (76%) of its titles by views, at most
  ``--max-titles`` (61,235); every multilingual WordNet lemma. Entries over
  ``--max-query-chars`` (256) are dropped; the numbers 0-99 are in every language's list.
- **Bigrams without spaces.** In a script written without spaces a bigram's two words are
  written together ("北京" + "天安门" is the query "北京天安门"), as the language writes it.
"""

from __future__ import annotations

import math
import re

from wit_builder.text.segment import needs_segmenting

SEPARATOR = "\t"  # no query holds a tab: tokens hold no whitespace, titles and lemmas are trimmed
ENGLISH = "en"
_DBNAME = re.compile(r"<dbname>\s*([A-Za-z0-9_-]+?)wiki\s*</dbname>")
_XML_LANG = re.compile(r"<mediawiki\b[^>]*\bxml:lang=\"([A-Za-z0-9-]+)\"")


def lang_key(lang: str, text: str) -> str:
    """The count key of ``text`` in language ``lang``."""
    return f"{lang}{SEPARATOR}{text}"


def split_key(key: str) -> tuple[str, str]:
    """(lang, text) of a count key."""
    lang, _, text = key.partition(SEPARATOR)
    return lang, text


def dump_language(head: str) -> str | None:
    """The language of a dump from its first characters: its wiki's code from ``<dbname>``,
    else the ``xml:lang`` of ``<mediawiki>``; None when it states neither."""
    if match := _DBNAME.search(head):
        return match.group(1).replace("_", "-").lower()
    if match := _XML_LANG.search(head):
        return match.group(1).lower()
    return None


def join_words(first: str, second: str) -> str:
    """A bigram's query: its words with a space between them, or none where the language
    writes none (both sides of the join in a script written without spaces)."""
    if first and second and needs_segmenting(first[-1]) and needs_segmenting(second[0]):
        return first + second
    return f"{first} {second}"


def share_of(count: int, share: float, cap: int) -> int:
    """``share`` of ``count``, rounded down as Meta CLIP 2 does, at most ``cap``."""
    return min(cap, math.floor(count * share))
