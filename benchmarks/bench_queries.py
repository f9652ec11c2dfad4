"""Benchmark: the queries stage against a plain single-process Counter, same dump, same run.

    python benchmarks/bench_queries.py [--chars 50e6] [--workers 1] [--repeat 1] [--keep DIR]

Writes a synthetic dump of at least ``--chars`` characters of wikitext (bz2, split files, as
Wikimedia publishes), then times, each in its own process with its peak memory:
- ours: ``wit-builder queries`` on FnApiRunner (markup stripping with mwparserfromhell,
  unigram/bigram/phrase counts, PMI joins, output files), as the stage runs by default: one
  worker inside the command's process, one core like the baseline's; ``--workers N`` (N > 1) runs N
  worker processes (``--direct_running_mode=multi_processing``) and divides by N cores;
- the baseline: one Python process streaming the same files with ElementTree and counting the
  same tokens and bigrams of the raw wikitext with ``collections.Counter`` (no markup removal,
  no output), the least work that produces the counts.
Prints tokens/s per core for both and ``queries_ratio=<ours per core / baseline>``. With
``--repeat N`` the two run N times each, alternately, and the medians are compared: on a shared
VM one run of either can be 20% off.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from measure import measure, median_run, seconds_of

from wit_builder.synthetic import SyntheticWorld, WorldConfig
from wit_builder.synthetic.wikidump import write_wiki_dump

BASELINE = """
import bz2, collections, glob, json, sys, time
from xml.etree import ElementTree
from wit_builder.text.tokens import TOKEN
unigrams, bigrams, tokens = collections.Counter(), collections.Counter(), 0
for path in sorted(glob.glob(sys.argv[1])):
    with bz2.open(path) as handle:
        for _, element in ElementTree.iterparse(handle):
            if element.tag.endswith("}text") and element.text:
                words = TOKEN.findall(element.text)
                tokens += len(words)
                unigrams.update(words)
                bigrams.update(zip(words, words[1:]))
            if element.tag.endswith("}page"):
                element.clear()
print(json.dumps({"tokens": tokens, "distinct_unigrams": len(unigrams)}))
"""


def build_dump(folder: Path, characters: float) -> tuple[str, int]:
    """A synthetic dump of at least ``characters`` characters of wikitext; returns its glob."""
    scale = 1.0
    while True:
        world = SyntheticWorld(WorldConfig.scaled(scale, seed=1))
        size = sum(len(page.text) for page in world.wiki_pages)
        if size >= characters:
            break
        scale *= max(1.1, characters / max(size, 1) * 1.02)
    write_wiki_dump(world.wiki_pages, folder, files=8, compression="bz2")
    return str(folder / "enwiki-*.xml*.bz2"), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chars", type=float, default=50e6, help="characters of wikitext (default 50e6)")
    parser.add_argument(
        "--workers", type=int, default=1, help="1: the stage's default, in-process; N > 1: N worker processes"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, alternately; medians compared (default 1)")
    parser.add_argument("--keep", metavar="DIR", help="keep the dump and outputs here")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-queries-"))
    root.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    glob, characters = build_dump(root / "wiki", args.chars)
    print(
        f"dump: {characters / 1e6:.1f}M characters of wikitext in {glob} ({time.monotonic() - started:.0f}s to build)"
    )

    out = root / "queries"
    command = [
        sys.executable,
        "-m",
        "wit_builder.cli",
        "queries",
        "--wiki-dump",
        glob,
        "--out",
        str(out),
    ]
    if args.workers > 1:
        command += [f"--direct_num_workers={args.workers}", "--direct_running_mode=multi_processing"]
    baselines, ours_runs = [], []
    for _ in range(max(1, args.repeat)):
        baselines.append(measure([sys.executable, "-c", BASELINE, glob]))
        shutil.rmtree(out, ignore_errors=True)  # a finished output would make the stage a no-op
        ours_runs.append(measure(command))
    if args.repeat > 1:
        print(f"seconds, ours: {seconds_of(ours_runs)}; baseline: {seconds_of(baselines)} (medians compared)")
    baseline = median_run(baselines)
    ours = median_run(ours_runs)
    baseline_counts = json.loads(baseline["stdout"])
    baseline_rate = baseline_counts["tokens"] / baseline["seconds"]
    stats = json.loads((out / "stats.json").read_text())
    tokens = stats["counts"]["tokens"]
    ours_rate = tokens / ours["seconds"] / args.workers

    rows = [
        ("", "tokens", "seconds", "tokens/s/core", "peak MiB"),
        ("ours (FnApiRunner)", f"{tokens:,}", f"{ours['seconds']:.1f}", f"{ours_rate:,.0f}", f"{ours['peak_mib']:.0f}"),
        (
            "Counter baseline",
            f"{baseline_counts['tokens']:,}",
            f"{baseline['seconds']:.1f}",
            f"{baseline_rate:,.0f}",
            f"{baseline['peak_mib']:.0f}",
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    print(f"cores={args.workers} (machine has {os.cpu_count()})")
    print(f"ours counts prose only: {tokens:,} tokens vs {baseline_counts['tokens']:,} in the raw wikitext")
    print(f"queries_ratio={ours_rate / baseline_rate:.3f}")
    wikipedia_tokens = 4.5e9
    core_hours = wikipedia_tokens / ours_rate / 3600
    print(f"estimate for English Wikipedia (~4.5B tokens): {core_hours:,.1f} core-hours at this rate")


if __name__ == "__main__":
    main()
