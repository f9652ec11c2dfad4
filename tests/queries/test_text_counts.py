"""The counting worker gives the counts of the plain definition: every token, every bigram
within a phrase, every occurrence of a listed phrase within a phrase, keyed by language and
sharded by key (bigrams by their first word), however the work is batched."""

from __future__ import annotations

import itertools
import random
from collections import Counter

from apache_beam import pvalue

from wit_builder.hashing import shard_of
from wit_builder.queries.dump_reader import Page
from wit_builder.queries.languages import lang_key
from wit_builder.queries.text_counts import CountTextFn, phrase_index
from wit_builder.queries.wikitext import wikitext_to_prose
from wit_builder.text.segment import Segmenter
from wit_builder.text.tokens import normalise, phrases

WORDS = ["red", "circle", "the", "Tower", "of", "London", "big", "ben", "x", "北京", "天安门"]
LISTED = ["red circle", "the Tower of London", "London", "big ben ben", "北京天安门", "of", "ben big ben ben"]


def _page(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(5, 60)):
        parts.append(rng.choice(WORDS) if rng.random() < 0.8 else rng.choice(LISTED))
        parts.append(rng.choice([" ", " ", " ", ", ", "\n", " [[", "]] ", " '''", "''' "]))
    return "".join(parts)


def _expected(pages: list[tuple[str, str]], listed_keys: list[str], shards: int):
    """The counts by the definition, one token at a time."""
    unigrams: Counter[str] = Counter()
    bigrams: Counter[str] = Counter()
    hits: Counter[str] = Counter()
    sequences_by_language = {lang: list(_all_sequences(listed)) for lang, listed in phrase_index(listed_keys).items()}
    segmenter = Segmenter()
    for lang, text in pages:
        prose = normalise(wikitext_to_prose(text))
        for run in phrases(segmenter.spaced(prose)):
            unigrams.update(lang_key(lang, token) for token in run)
            bigrams.update(lang_key(lang, f"{a} {b}") for a, b in itertools.pairwise(run))
            sequences = sequences_by_language.get(lang, [])
            for start in range(len(run)):
                for sequence, key in sequences:
                    if tuple(run[start : start + len(sequence)]) == sequence:
                        hits[key] += 1
    by_shard = {
        "unigram": {shard_of(key, shards) for key in unigrams},
        "bigram": {shard_of(key.split(" ", 1)[0], shards) for key in bigrams},
    }
    return unigrams, bigrams, hits, by_shard


def _all_sequences(listed):
    for token, keys in listed.singles.items():
        yield from (((token,), key) for key in keys)
    for pair, keys in listed.pairs.items():
        yield from ((pair, key) for key in keys)
    for entries in listed.longer.values():
        yield from entries


def _run(pages: list[tuple[str, str]], listed_keys: list[str], shards: int, flush_every: int):
    fn = CountTextFn(shards)
    fn.setup()
    fn.start_bundle()
    index = phrase_index(listed_keys)
    out: list = []
    for number, (lang, text) in enumerate(pages, 1):
        out += fn.process((lang, Page(title="t", namespace=0, redirect=False, text=text)), index)
        if number % flush_every == 0:
            out += fn._flush(windowed=False)
    out += fn.finish_bundle()
    found = {"unigram": Counter(), "bigram": Counter(), "listed_hits": Counter(), "stats": Counter()}
    shards_seen = {"unigram": set(), "bigram": set()}
    for item in out:
        tag, value = item.tag, item.value
        value = getattr(value, "value", value)  # windowed at the end of the bundle
        if tag == "counts":
            shard, blobs = value
            for kind, blob in zip(("unigram", "bigram"), blobs, strict=True):
                if blob:
                    shards_seen[kind].add(shard)
                for key in blob:
                    first = key.split(" ", 1)[0] if kind == "bigram" else key
                    assert shard_of(first, shards) == shard, (kind, key)
                found[kind].update(blob)
        elif tag == "listed_hits":
            found[tag].update(value)
        elif tag == "stats":
            found[tag][value[0]] += value[1]
    assert all(isinstance(item, pvalue.TaggedOutput) for item in out)
    return found, shards_seen


def test_counts_follow_the_definition_however_the_bundle_is_flushed():
    rng = random.Random(3)
    pages = [(rng.choice(["en", "de", "zh"]), _page(rng)) for _ in range(200)]
    listed_keys = [lang_key(lang, query) for lang in ("en", "zh") for query in LISTED]
    unigrams, bigrams, hits, by_shard = _expected(pages, listed_keys, shards=7)
    for flush_every in (1, 13, 1000):
        found, shards_seen = _run(pages, listed_keys, shards=7, flush_every=flush_every)
        assert found["unigram"] == unigrams
        assert found["bigram"] == bigrams
        assert found["listed_hits"] == hits
        assert shards_seen == by_shard
        assert found["stats"]["tokens"] == sum(unigrams.values())
        assert found["stats"]["phrases"] == sum(unigrams.values()) - sum(bigrams.values())
    assert hits[lang_key("en", "the Tower of London")] > 0 and hits[lang_key("zh", "北京天安门")] > 0
    assert hits[lang_key("en", "big ben ben")] > 0  # overlapping occurrences each count


def test_a_page_the_parser_cannot_read_is_counted_not_lost(monkeypatch):
    import wit_builder.queries.text_counts as text_counts

    def broken(text):
        raise ValueError("unreadable")

    monkeypatch.setattr(text_counts, "wikitext_to_prose", broken)
    fn = CountTextFn(4)
    fn.setup()
    fn.start_bundle()
    assert list(fn.process(("en", Page(title="t", namespace=0, redirect=False, text="x")), {})) == []
    stats = {item.value.value[0]: item.value.value[1] for item in fn.finish_bundle() if item.tag == "stats"}
    assert stats == {"pages_unparsable": 1}
