"""Balance per language, as Meta CLIP 2 balances its worldwide pool: each language has its own
cap t, and a pair is kept by its own language's probabilities.

- **Keys.** The candidates of a worldwide list carry ``lang``; their matches are counted and
  drawn under the key ``LANG<TAB>QUERY`` (``match_keys``), so "die" matched in German captions
  and "die" matched in English ones are two entries with two counts. Candidates without
  ``lang`` (an English-only list) keep their plain queries as keys: the same counts, the same
  draws, the same bytes as before languages existed.
- **Each language's t.** English keeps ``--per-query`` (t_en). For every other language, t is
  where its tail share equals English's: with p = (matches of English entries matched fewer
  than t_en times) / (all English matches), a language's t is the one whose own tail share is
  nearest p (ties: the smaller t), as Meta CLIP 2's ``p_to_t`` does over sorted counts. A
  language with few, spread-out matches gets a small t, a crowded one a large t, so each keeps
  the same shape of head and tail. Without English candidates there is no p to follow,
  and every language takes t_en.
- **What is kept.** A pair is kept when any of its matches keeps it, each with probability
  min(1, F·t_lang / n), by the same draw as before (``sampling``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SEPARATOR = "\t"
ENGLISH = "en"


def malformed_rows(table: pa.Table) -> np.ndarray | None:
    """Which rows' ``matches`` hold a null element (a file another tool wrote, or damaged):
    such a row costs itself, counted as ``malformed_matches``, and never reaches a count key.
    None when there is none, the common case, which costs one look at the null count."""
    matches = table.column("matches").combine_chunks()
    flat = pc.list_flatten(matches)
    if flat.null_count == 0:
        return None
    mask = np.zeros(table.num_rows, bool)
    mask[pc.list_parent_indices(matches).filter(pc.is_null(flat)).to_numpy(zero_copy_only=False)] = True
    return mask


def without_malformed(table: pa.Table) -> tuple[pa.Table, int]:
    """``table`` without its ``malformed_rows``, and how many there were."""
    bad = malformed_rows(table)
    if bad is None:
        return table, 0
    return table.filter(pa.array(~bad)), int(bad.sum())


def match_keys(table: pa.Table) -> pa.Array:
    """The ``matches`` of a batch of candidates as the keys they are counted and drawn under:
    ``LANG<TAB>QUERY`` where the row has a language, the query itself where it has none. A match
    that already names its language (``en<TAB>lighthouse``: harvest's ``--match-english`` in a
    German caption) keeps it: it is English's entry, not German's."""
    matches = table.column("matches").combine_chunks()
    if "lang" not in table.column_names or table.column("lang").null_count == table.num_rows:
        return matches
    parents = pc.list_parent_indices(matches)
    langs = pc.take(table.column("lang").combine_chunks(), parents)
    flat = pc.list_flatten(matches)
    own = pc.or_(pc.is_null(langs), pc.match_substring(flat, SEPARATOR))  # a match that names its language
    keyed = pc.if_else(own, flat, pc.binary_join_element_wise(langs, flat, pa.scalar(SEPARATOR)))
    return pa.ListArray.from_arrays(matches.offsets, keyed)


def row_keys(matches: list[str], lang: str | None) -> list[str]:
    """One row's keys, as ``match_keys`` makes them for a batch."""
    return [match if SEPARATOR in match or not lang else f"{lang}{SEPARATOR}{match}" for match in matches]


def key_language(key: str) -> str:
    """The language of a count key; a plain query is English."""
    lang, separator, _ = key.partition(SEPARATOR)
    return lang if separator else ENGLISH


def key_query(key: str) -> str:
    _, separator, query = key.partition(SEPARATOR)
    return query if separator else key


def histograms(shard: tuple[int, dict[str, int]]) -> Iterator[tuple[str, dict[int, int]]]:
    """(language, {entry count: entries with that count}) of one shard of match counts."""
    _, counts = shard
    per_language: dict[str, dict[int, int]] = {}
    for key, count in counts.items():
        histogram = per_language.setdefault(key_language(key), {})
        histogram[count] = histogram.get(count, 0) + 1
    yield from per_language.items()


def tail_share(histogram: Mapping[int, int], t: int) -> float:
    """The share of matches held by entries matched fewer than ``t`` times."""
    total = sum(count * entries for count, entries in histogram.items())
    tail = sum(count * entries for count, entries in histogram.items() if count < t)
    return tail / total if total else 0.0


def t_for_share(histogram: Mapping[int, int], share: float) -> int:
    """The t whose tail share (``tail_share``: matches of entries matched fewer than t times)
    is nearest ``share``; ties go to the smaller t. Only c + 1 for each count c matters: the
    tail share steps there."""
    total = sum(count * entries for count, entries in histogram.items())
    if not total:
        return 1
    best, best_gap, cumulative = 1, share, 0  # t = 1: no entry is in the tail, a share of 0
    for count in sorted(histogram):
        cumulative += count * histogram[count]
        gap = abs(cumulative / total - share)
        if gap < best_gap:
            best, best_gap = count + 1, gap
    return best


def language_thresholds(by_language: list[tuple[str, dict[int, int]]], per_query: int | None) -> dict:
    """Each language's t and why: ``{lang: {"t": t, "tail_share": share at t, "rule": ...}}``."""
    histograms_of = dict(by_language)
    if per_query is None:
        return {lang: {"t": None, "tail_share": None, "rule": "no cap"} for lang in sorted(histograms_of)}
    english = histograms_of.get(ENGLISH)
    p = tail_share(english, per_query) if english else None
    out = {}
    for lang, histogram in sorted(histograms_of.items()):
        if lang == ENGLISH or p is None:
            rule = "--per-query (t_en)" if lang == ENGLISH else "--per-query: no English candidates to follow"
            out[lang] = {"t": per_query, "tail_share": tail_share(histogram, per_query), "rule": rule}
        else:
            t = t_for_share(histogram, p)
            out[lang] = {"t": t, "tail_share": tail_share(histogram, t), "rule": f"English's tail share {p:.4f}"}
    return out
