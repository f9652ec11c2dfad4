"""Benchmark: harvest's matcher against MetaCLIP's way of matching, same queries, same captions.

    python benchmarks/bench_match.py [--queries 500000] [--captions 200000]

Queries: pronounceable synthetic words and word pairs plus the scene vocabulary (so captions
really match). Captions: scene captions of the synthetic web followed by a few vocabulary
words, with commas and full stops, about 20 words each. One core, one process.

The baseline, as MetaCLIP's curation matches: every query wrapped in single spaces in one
pyahocorasick automaton; each caption has tabs and newlines turned into spaces, spaces put
around , . ; : ? ! and `, is padded with a space at each end, and one pass collects the distinct
matched query ids. The two rules agree on captions made of ASCII letters, digits, spaces and
that punctuation; on those captions the benchmark checks both find the same queries.
Prints ``match_speedup=<ours / baseline captions per second>``, and each matcher's build time
and the memory it holds (resident-set growth while it is built, Linux).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import random
import re
import time

import ahocorasick

from wit_builder.harvest.matcher import QueryMatcher
from wit_builder.testing import SyntheticWorld, WorldConfig
from wit_builder.testing.vocabulary import _pseudo_words, concept_words

BASELINE_PUNCTUATION = ",.;:?!`"
AGREEING = re.compile(r"^[A-Za-z0-9 ,.;:?!`]*$")


def make_inputs(n_queries: int, n_captions: int, seed: int = 0) -> tuple[list[str], list[str]]:
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
    return queries, captions


class MetaClipBaseline:
    def __init__(self, queries: list[str]):
        self.automaton = ahocorasick.Automaton()
        for index, query in enumerate(queries):
            self.automaton.add_word(f" {query} ", index)
        self.automaton.make_automaton()

    def __call__(self, caption: str) -> set[int]:
        text = caption.replace("\t", " ").replace("\n", " ")
        for mark in BASELINE_PUNCTUATION:
            text = text.replace(mark, f" {mark} ")
        return {index for _, index in self.automaton.iter(f" {text} ")}


def resident_mib() -> float:
    """This process's resident memory now (Linux /proc; 0 elsewhere)."""
    statm = pathlib.Path("/proc/self/statm")
    return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20 if statm.exists() else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=500_000)
    parser.add_argument("--captions", type=int, default=200_000)
    args = parser.parse_args()
    queries, captions = make_inputs(args.queries, args.captions)
    mean_chars = sum(map(len, captions)) / len(captions)
    print(f"{len(queries):,} queries, {len(captions):,} captions, {mean_chars:.0f} chars each")

    before, started = resident_mib(), time.monotonic()
    baseline = MetaClipBaseline(queries)
    baseline_build, baseline_mib = time.monotonic() - started, resident_mib() - before
    before, started = resident_mib(), time.monotonic()
    ours = QueryMatcher(queries)
    ours_build, ours_mib = time.monotonic() - started, resident_mib() - before

    started = time.monotonic()
    baseline_found = [baseline(c) for c in captions]
    baseline_seconds = time.monotonic() - started
    started = time.monotonic()
    ours_found = [ours(c) for c in captions]
    ours_seconds = time.monotonic() - started

    compared = agreed = 0
    for caption, ids, found in zip(captions, baseline_found, ours_found, strict=True):
        if AGREEING.match(caption):
            compared += 1
            agreed += {queries[i] for i in ids} == set(found)
    matches = sum(map(len, ours_found))
    print(f"build: ours {ours_build:.1f}s holding {ours_mib:.0f} MiB,", end=" ")
    print(f"baseline {baseline_build:.1f}s holding {baseline_mib:.0f} MiB")
    print(f"baseline: {len(captions) / baseline_seconds:,.0f} captions/s ({baseline_seconds:.1f}s)")
    print(f"ours:     {len(captions) / ours_seconds:,.0f} captions/s ({ours_seconds:.1f}s), {matches:,} matches")
    print(f"same matches on {agreed:,} of {compared:,} captions where the rules agree")
    print(f"match_speedup={baseline_seconds / ours_seconds:.3f}")


if __name__ == "__main__":
    main()
