"""Benchmark: harvest's matcher against MetaCLIP's way of matching, same queries, same captions.

    python benchmarks/bench_match.py [--queries 500000] [--captions 200000] [--case real|synthetic|both]

Two cases, both run by default, each printing its own ratio:

- **real** (``match_speedup_real``): a query list shaped like a real one. Half single words, the
  most frequent English words with their real frequencies (``wordfreq``'s large English list,
  which holds ~3,000 punctuated entries in its top 250k: "u.s", "e.g", "ph.d", "a.k.a", "©",
  emoji); the head names of the real WordNet 3.0 when it is installed at /usr/share/wordnet
  (``apt install wordnet-base``; its 82 punctuated names: "c.o.d.", "24/7", "achilles' heel");
  then word pairs drawn by frequency up to the list's size. Captions are 6–30 words drawn
  from the same frequencies, with a WordNet name or a listed pair now and then, a capital first
  letter half the time and punctuation after one word in ten: nearly every word of a caption is
  a query, as on the web, where every word seen 100 times in Wikipedia is one.
- **synthetic** (``match_speedup_synthetic``): the earlier inputs. Pronounceable synthetic words
  and word pairs plus the scene vocabulary; captions are scene captions of the synthetic web
  followed by a few list words. Few caption words are queries and no query has punctuation.

The baseline, as MetaCLIP's curation matches (``substr_matching.py``): every query wrapped in
single spaces in one pyahocorasick automaton; each caption padded with a space at each end,
spaces put around , . ; : ? ! and `, tabs and newlines turned into spaces; one pass collects
the distinct matched query ids. The two rules agree for queries that are plain words joined by
spaces, on captions of ASCII letters, digits, spaces and that punctuation; on those the
benchmark checks both find the same queries. Where they differ (punctuated queries such as
"u.s", which MetaCLIP's spacing of "." can never match) it counts the matches each found.
Prints each matcher's build time and the memory it holds (resident-set growth, Linux), then
``match_speedup_<case>=<ours / baseline captions per second>``. One core, one process.
"""

from __future__ import annotations

import argparse
import itertools
import os
import pathlib
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass

from metaclip_match import MetaClipMatcher

from wit_builder.harvest.matcher import QueryMatcher
from wit_builder.text.tokens import joined_tokens

AGREEING = re.compile(r"^[A-Za-z0-9 ,.;:?!`]*$")
WORDNET = "/usr/share/wordnet"
CAPTION_MARKS = (",", ",", ",", ".", ":", " -", "!", "?", " &", " /", ";", " (", ")")


@dataclass
class Case:
    name: str
    queries: list[str]
    captions: list[str]
    about: str


@dataclass
class RealVocabulary:
    """English words ranked by real frequency, with the draw that follows those frequencies,
    and the list built from them (words, WordNet names, word pairs)."""

    rng: random.Random
    ranked: list[str]
    cumulative: list[float]
    names: list[str]
    pairs: list[str]
    queries: list[str]

    def draw(self, k: int) -> list[str]:
        return self.rng.choices(self.ranked, cum_weights=self.cumulative, k=k)

    def captions(self, count: int) -> list[str]:
        """Captions of 6-30 words by real frequency, a list name or pair now and then,
        punctuation after one word in ten."""
        rng = self.rng
        multiword = [name for name in self.names if " " in name] + self.pairs
        captions = []
        for _ in range(count):
            words = self.draw(rng.randint(6, 30))
            for position in range(len(words)):
                if rng.random() < 0.06 and multiword:
                    words[position] = rng.choice(multiword)
                elif rng.random() < 0.1:
                    words[position] += rng.choice(CAPTION_MARKS)
            caption = " ".join(words)
            captions.append(caption[:1].upper() + caption[1:] if rng.random() < 0.5 else caption)
        return captions


def real_vocabulary(n_queries: int, seed: int = 0) -> RealVocabulary:
    """A real-shaped list of ``n_queries``: half the most frequent words of ``wordfreq``'s large
    English list, WordNet 3.0's head names, the rest word pairs drawn by frequency."""
    try:
        import wordfreq
    except ImportError as error:  # a dev extra
        raise SystemExit("the real case needs wordfreq (pip install -e '.[dev]')") from error
    rng = random.Random(seed)
    frequencies = wordfreq.get_frequency_dict("en", wordlist="large")
    ranked = sorted(frequencies, key=lambda word: (-frequencies[word], word))[: n_queries // 2]
    names: list[str] = []
    if pathlib.Path(WORDNET, "data.noun").exists():
        from wit_builder.queries.wordnet import read_lemmas

        names = list(dict.fromkeys(found[0] for found in read_lemmas(WORDNET) if isinstance(found, tuple)))
    cumulative = list(itertools.accumulate(frequencies[word] for word in ranked))
    vocabulary = RealVocabulary(rng, ranked, cumulative, names, [], [])
    queries = dict.fromkeys(ranked)
    queries.update(dict.fromkeys(names))
    while len(queries) < n_queries:
        pair = " ".join(vocabulary.draw(2))
        if pair not in queries:
            queries[pair] = None
            vocabulary.pairs.append(pair)
    vocabulary.queries = list(queries)
    return vocabulary


def real_case(n_queries: int, n_captions: int, seed: int = 0) -> Case:
    """A real-shaped list and captions: real word frequencies, real punctuated entries."""
    vocabulary = real_vocabulary(n_queries, seed)
    captions = vocabulary.captions(n_captions)
    queries = vocabulary.queries
    irregular = sum(joined_tokens(query) is None for query in queries)
    about = (
        f"{len(vocabulary.ranked):,} words by real frequency, {len(vocabulary.names):,} WordNet names"
        f"{'' if vocabulary.names else ' (WordNet not installed)'}, {len(vocabulary.pairs):,} pairs; "
        f"{irregular:,} punctuated queries"
    )
    return Case("real", queries, captions, about)


def synthetic_case(n_queries: int, n_captions: int, seed: int = 0) -> Case:
    """The first inputs: synthetic words, scene captions with a few list words after them."""
    from wit_builder.synthetic import SyntheticWorld, WorldConfig
    from wit_builder.synthetic.vocabulary import _pseudo_words, concept_words

    rng = random.Random(seed)
    words = _pseudo_words(n_queries, seed, "bench-match", set(concept_words()))
    pairs = n_queries // 5
    queries = words[: n_queries - pairs - len(concept_words())]
    queries += [f"{a} {b}" for a, b in zip(words[-pairs:], words[:pairs], strict=True)]
    queries += list(concept_words())
    scenes = [image.caption for image in SyntheticWorld(WorldConfig.scaled(4, seed=seed)).catalog.images]
    captions = []
    for _ in range(n_captions):
        tail = " ".join(rng.choice(words) for _ in range(rng.randint(2, 6)))
        captions.append(f"{rng.choice(scenes)}, {tail}.")
    return Case("synthetic", queries, captions, "synthetic words and pairs, scene captions; no punctuated query")


def resident_mib() -> float:
    """This process's resident memory now (Linux /proc; 0 elsewhere)."""
    statm = pathlib.Path("/proc/self/statm")
    return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20 if statm.exists() else 0.0


def seconds_over(match, captions: list[str]) -> float:
    """Time to match every caption, each result dropped as the harvest DoFn drops it (holding
    200,000 results alive would time Python's garbage collector walking them instead)."""
    started = time.monotonic()
    for caption in captions:
        match(caption)
    return time.monotonic() - started


def run_case(case: Case) -> float:
    """Builds both matchers, times both over the captions, checks agreement; returns the ratio."""
    queries, captions = case.queries, case.captions
    mean_chars = sum(map(len, captions)) / len(captions)
    print(f"\n== {case.name}: {len(queries):,} queries ({case.about})")
    print(f"   {len(captions):,} captions, {mean_chars:.0f} chars each")

    before, started = resident_mib(), time.monotonic()
    baseline = MetaClipMatcher(queries)
    baseline_build, baseline_mib = time.monotonic() - started, resident_mib() - before
    before, started = resident_mib(), time.monotonic()
    ours = QueryMatcher(queries)
    ours_build, ours_mib = time.monotonic() - started, resident_mib() - before

    baseline_seconds = seconds_over(baseline, captions)
    ours_seconds = seconds_over(ours, captions)
    baseline_found = [baseline(c) for c in captions]  # again, kept for the comparison below
    ours_found = [ours(c) for c in captions]

    regular = {query for query in queries if joined_tokens(query) is not None}
    compared = agreed = 0
    irregular_ours = irregular_baseline = 0
    for caption, ids, found in zip(captions, baseline_found, ours_found, strict=True):
        theirs = {queries[i] for i in ids}
        irregular_ours += len(set(found) - regular)
        irregular_baseline += len(theirs - regular)
        if AGREEING.match(caption):
            compared += 1
            agreed += theirs & regular == set(found) & regular
    words = sum(len(c.split()) for c in captions)
    matches = sum(map(len, ours_found))
    print(f"   build: ours {ours_build:.1f}s holding {ours_mib:.0f} MiB,", end=" ")
    print(f"baseline {baseline_build:.1f}s holding {baseline_mib:.0f} MiB")
    print(f"   baseline: {len(captions) / baseline_seconds:,.0f} captions/s ({baseline_seconds:.1f}s)")
    print(f"   ours:     {len(captions) / ours_seconds:,.0f} captions/s ({ours_seconds:.1f}s)")
    print(f"   {matches:,} matches, {matches / words:.2f} per caption word")
    print(f"   same matches on {agreed:,} of {compared:,} captions where the rules agree")
    print(f"   punctuated-query matches: ours {irregular_ours:,}, MetaCLIP's way {irregular_baseline:,}")
    ratio = baseline_seconds / ours_seconds
    print(f"match_speedup_{case.name}={ratio:.3f}")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=500_000)
    parser.add_argument("--captions", type=int, default=200_000)
    parser.add_argument("--case", choices=("real", "synthetic", "both"), default="both")
    args = parser.parse_args()
    if args.case == "both":  # each case in a process of its own, so memory figures are its own
        for name in ("real", "synthetic"):
            command = [sys.executable, __file__, "--queries", str(args.queries), "--captions", str(args.captions)]
            subprocess.run([*command, "--case", name], check=True)
        return
    builders = {"real": real_case, "synthetic": synthetic_case}
    run_case(builders[args.case](args.queries, args.captions))


if __name__ == "__main__":
    main()
