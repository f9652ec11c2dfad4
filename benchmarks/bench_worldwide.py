"""Benchmark: worldwide matching on real word frequencies in 42 languages, no dumps needed.

    python benchmarks/bench_worldwide.py [--queries-per-language 20000] [--captions-per-language 1000]
                                         [--harvest-captions 42000] [--memory-entries 5000000]

``wordfreq`` ships real word frequencies for 42 languages, Chinese and Japanese included (its
words there are cut as jieba and MeCab cut them). For each language:

- **A real-frequency list**: its most frequent words (``--queries-per-language``), plus word
  pairs drawn by frequency (a fifth as many), written as the language writes two words
  (``queries.languages.join_words``: no space in Chinese or Japanese).
- **Captions** of 6-20 words drawn from the same frequencies; Chinese and Japanese written
  without spaces.
- **The matcher** (``QueryMatcher``, the language's list, the segmenter where the script needs
  it) in captions/s, against a brute-force reference on the same segmentation: every run of up
  to k consecutive units of the spaced caption (k the longest query's units) looked up in a
  set of the spaced queries. Both must find the same queries in every caption (``disagree``).
- **Segmenter agreement** (Chinese and Japanese): of the word boundaries the caption was built
  with, the share ICU finds (recall), and of ICU's, the share that are real (precision).
- **Language identification**: the share of captions identified as their language (lid.176's
  code for Norwegian Bokmål is ``no``, for Filipino ``tl``; Serbo-Croatian counts as any of
  ``sh``, ``hr``, ``sr``, ``bs``). Bags of frequent words, not sentences: a lower bound.

Then, over all languages:

- **Harvest, worldwide against English-only** (``harvest_worldwide_ratio``): ``wit-builder
  harvest`` as today, the English list over English captions (no identification), against
  every language's list over as many captions of all languages (each caption identified and
  matched against its language's list). One URL a caption, FnApiRunner, one worker. Each is
  run on N and 4N captions: the difference is the cost per caption at scale, where building
  42 matchers once per worker (a few seconds) is paid once for millions of captions. The
  goal: at least 0.5 of the English-only rate.
- **Memory**: a ``QueryMatcher`` over a fifth, half and all of ``--memory-entries`` (5M:
  1M, 2.5M, 5M) entries of all languages (words and pairs), its resident-set growth, in MiB per
  million entries (Linux).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import wordfreq

from wit_builder.harvest.matcher import QueryMatcher
from wit_builder.queries.languages import join_words
from wit_builder.schemas import table_from_rows, write_table
from wit_builder.text.language_id import LanguageIdentifier
from wit_builder.text.segment import Segmenter, needs_segmenting
from wit_builder.text.tokens import unit_spans

WITHOUT_SPACES = ("zh", "ja")
LID_CODES = {"nb": {"no", "nb"}, "fil": {"tl", "fil"}, "sh": {"sh", "hr", "sr", "bs"}}


def frequencies(lang: str, limit: int) -> tuple[list[str], np.ndarray]:
    """The language's ``limit`` most frequent words that are words (hold a letter), and their
    probabilities."""
    words, weights = [], []
    for word, frequency in wordfreq.get_frequency_dict(lang).items():
        if any(ch.isalpha() for ch in word) and word == word.strip() and " " not in word:
            words.append(word)
            weights.append(frequency)
            if len(words) == limit:
                break
    p = np.array(weights)
    return words, p / p.sum()


def query_list(lang: str, words: list[str], p: np.ndarray, rng: np.random.Generator) -> list[str]:
    pairs = rng.choice(len(words), size=(len(words) // 5, 2), p=p)
    return list(dict.fromkeys([*words, *(join_words(words[a], words[b]) for a, b in pairs)]))


def captions(lang: str, words: list[str], p: np.ndarray, count: int, rng: np.random.Generator):
    """(caption, the words it was built from) pairs."""
    joiner = "" if lang in WITHOUT_SPACES else " "
    out = []
    for _ in range(count):
        drawn = [words[i] for i in rng.choice(len(words), size=int(rng.integers(6, 21)), p=p)]
        out.append((joiner.join(drawn), drawn))
    return out


class Reference:
    """Brute force on the same segmentation: every run of up to k units of the spaced caption,
    looked up in a set of the spaced queries."""

    def __init__(self, queries: list[str], segmenter: Segmenter):
        self.segmenter = segmenter
        self.keys: dict[str, list[str]] = {}
        self.longest = 1
        for query in queries:
            key = segmenter.spaced(query)
            self.keys.setdefault(key, []).append(query)
            self.longest = max(self.longest, len(unit_spans(key)))

    def __call__(self, caption: str) -> list[str]:
        text = self.segmenter.spaced(caption)
        spans = unit_spans(text)
        found: set[str] = set()
        for i, (start, _) in enumerate(spans):
            for _, end in spans[i : i + self.longest]:
                found.update(self.keys.get(text[start:end], ()))
        return sorted(found)


def boundary_agreement(segmenter: Segmenter, samples) -> tuple[float, float]:
    """(recall, precision) of ICU's word boundaries against the ones the captions were built with."""
    found = real = both = 0
    for caption, drawn in samples:
        truth, offset = set(), 0
        for word in drawn[:-1]:
            offset += len(word)
            truth.add(offset)
        icu = {b for b in segmenter._boundaries(caption) if 0 < b < len(caption)}
        found, real, both = found + len(icu), real + len(truth), both + len(icu & truth)
    return both / real if real else 1.0, both / found if found else 1.0


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def time_harvest(queries_dir: Path, pairs: Path, out: Path) -> float:
    started = time.perf_counter()
    command = [sys.executable, "-m", "wit_builder.cli", "harvest", "--queries", str(queries_dir)]
    subprocess.run([*command, "--pairs", str(pairs), "--out", str(out)], check=True, capture_output=True)
    return time.perf_counter() - started


def write_queries(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    table = table_from_rows(rows, "queries")
    if all(row["lang"] == "en" for row in rows):
        write_table(table.drop_columns(["lang"]), str(folder / "queries.parquet"), "queries", without=("lang",))
    else:
        write_table(table, str(folder / "queries.parquet"), "queries")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries-per-language", type=int, default=20_000)
    parser.add_argument("--captions-per-language", type=int, default=1_000)
    parser.add_argument("--harvest-captions", type=int, default=42_000)
    parser.add_argument("--memory-entries", type=int, default=5_000_000)
    parser.add_argument("--languages", default=",".join(sorted(wordfreq.available_languages())))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    segmenter, identifier = Segmenter(), LanguageIdentifier()
    languages = args.languages.split(",")
    print(f"{len(languages)} languages; {args.queries_per_language:,} words each, and a fifth as many pairs")
    print(f"{'lang':<5} {'queries':>8} {'ours c/s':>9} {'brute c/s':>9} {'speedup':>8} {'disagree':>8} "
          f"{'lid':>6} {'seg recall':>10} {'seg precision':>13}")  # fmt: skip
    lists, all_captions, totals = {}, [], {"ours": 0.0, "brute": 0.0, "captions": 0, "lid": 0, "lid_s": 0.0}
    for lang in languages:
        words, p = frequencies(lang, args.queries_per_language)
        queries = query_list(lang, words, p, rng)
        lists[lang] = queries
        samples = captions(lang, words, p, args.captions_per_language, rng)
        texts = [caption for caption, _ in samples]
        all_captions += [(lang, text) for text in texts]
        matcher, reference = QueryMatcher(queries), Reference(queries, segmenter)
        gc.collect()
        gc.disable()  # a full collection of the lists held so far must not land in one language's timing
        started = time.perf_counter()
        ours = [matcher(text) for text in texts]
        ours_s = time.perf_counter() - started
        started = time.perf_counter()
        brute = [reference(text) for text in texts]
        brute_s = time.perf_counter() - started
        gc.enable()
        disagree = sum(a != b for a, b in zip(ours, brute, strict=True))
        wanted = LID_CODES.get(lang, {lang})
        started = time.perf_counter()
        identified = [identifier.identify(text)[0] for text in texts]
        totals["lid_s"] += time.perf_counter() - started
        lid = sum(code in wanted for code in identified) / len(texts)
        if lang in WITHOUT_SPACES:
            recall, precision = boundary_agreement(segmenter, samples)
            seg = f"{recall:>10.3f} {precision:>13.3f}"
        else:
            seg = f"{'-':>10} {'-':>13}"
        totals["ours"] += ours_s
        totals["brute"] += brute_s
        totals["captions"] += len(texts)
        totals["lid"] += lid * len(texts)
        print(f"{lang:<5} {len(queries):>8,} {len(texts) / ours_s:>9,.0f} {len(texts) / brute_s:>9,.0f} "
              f"{brute_s / ours_s:>8.2f} {disagree:>8} {lid:>6.3f} {seg}")  # fmt: skip
        assert disagree == 0, f"{lang}: the matcher and the brute-force reference disagree on {disagree} captions"
    n = totals["captions"]
    print(
        f"all   matcher {n / totals['ours']:,.0f} captions/s, brute force {n / totals['brute']:,.0f}: "
        f"worldwide_match_speedup={totals['brute'] / totals['ours']:.2f}; lid accuracy {totals['lid'] / n:.3f}, "
        f"{totals['lid_s'] / n * 1e6:.1f} µs a caption"
    )

    # Harvest: the whole stage, English-only list against every language's list, same captions.
    with tempfile.TemporaryDirectory(prefix="bench-worldwide-") as tmp:
        root = Path(tmp)
        picked = random.Random(1).sample(all_captions, min(args.harvest_captions, len(all_captions)))
        en_words, en_p = frequencies("en", args.queries_per_language)
        english_captions = [text for text, _ in captions("en", en_words, en_p, len(picked), rng)]
        row = {"source": "unigram", "score": 1.0, "occurrences": 1}
        english = write_queries(root / "en", [{**row, "query": q, "lang": "en"} for q in lists.get("en", [])])
        world = write_queries(
            root / "world", [{**row, "query": q, "lang": lang} for lang, queries in lists.items() for q in queries]
        )
        seconds: dict[tuple[str, int], float] = {}
        texts = {"en": english_captions, "world": [text for _, text in picked]}
        for times in (1, 4):
            for name, folder in (("en", english), ("world", world)):
                pairs = root / f"pairs-{name}-{times}.jsonl"
                with pairs.open("w") as handle:
                    for k, text in enumerate(texts[name] * times):
                        pair = {"url": f"http://img.test/{k}.jpg", "caption": text}
                        handle.write(json.dumps(pair, ensure_ascii=False) + "\n")
                seconds[name, times] = time_harvest(folder, pairs, root / f"out-{name}-{times}")
        n = len(picked)
        extra = {name: seconds[name, 4] - seconds[name, 1] for name in ("en", "world")}
        if min(extra.values()) <= 0:  # too few captions: start-up noise hides their cost
            print(f"harvest_worldwide_ratio=n/a ({n:,} captions are too few to time past start-up)")
        else:
            rate = {name: 3 * n / extra[name] for name in ("en", "world")}
            fixed = {name: seconds[name, 1] - n / rate[name] for name in ("en", "world")}
            for name, about in (("en", "English list, English captions"), ("world", "every list, every language")):
                print(f"harvest, {about}: {n:,} captions {seconds[name, 1]:.1f}s, {4 * n:,} {seconds[name, 4]:.1f}s: "
                      f"{rate[name]:,.0f} captions/s at scale, {fixed[name]:.1f}s fixed")  # fmt: skip
            print(f"harvest_worldwide_ratio={rate['world'] / rate['en']:.2f} (captions/s at scale, every language's "
                  f"list / English-only)")  # fmt: skip

    # Memory: the matcher over many entries of every language.
    pool: dict[str, None] = {}
    per_language = -(-args.memory_entries // len(languages)) + 1  # a little over: dedupe takes some
    for lang in languages:
        words, p = frequencies(lang, per_language)
        pool.update(dict.fromkeys(words))
        while len(pool) < per_language * (languages.index(lang) + 1):  # pairs make up the rest
            pairs = rng.choice(len(words), size=(per_language, 2), p=p)
            for a, b in pairs:
                pool[join_words(words[a], words[b])] = None
                if len(pool) >= per_language * (languages.index(lang) + 1):
                    break
    pool = list(pool)
    print(f"memory: {len(pool):,} distinct entries from {len(languages)} languages")
    for size in (args.memory_entries // 5, args.memory_entries // 2, args.memory_entries):
        if size > len(pool):
            break
        gc.collect()
        before = rss_mib()
        matcher = QueryMatcher(pool[:size])
        grown = rss_mib() - before
        print(f"  {size:>9,} entries: +{grown:,.0f} MiB, {grown / (size / 1e6):,.0f} MiB per million")
        del matcher
    print(f"segmenting: {sum(needs_segmenting(q) for q in pool):,} entries of scripts without spaces")


if __name__ == "__main__":
    main()
