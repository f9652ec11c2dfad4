"""Benchmark: the harvest stage end to end on at least a million synthetic WAT image links.

    python benchmarks/bench_harvest.py [--links 1000000] [--workers 2] [--keep DIR]

Writes a synthetic world whose WAT files hold at least ``--links`` ``IMG@/src`` links (the
dump stays small: the query list comes from it), builds its query list, then times
``wit-builder harvest`` on FnApiRunner with ``--workers`` processes in a wrapper process that
reports the peak memory of its largest process. Prints pairs/s and pairs/s per core.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from measure import measure

from wit_builder.synthetic import SyntheticWorld, WorldConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", metavar="DIR")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-harvest-"))

    base = WorldConfig(seed=2)
    mean_links = base.images_per_page  # pages hold images_per_page ± half of it, plus placeholders
    config = replace(base, web_pages=args.links // mean_links + 1, images=50_000, wat_files=16)
    started = time.monotonic()
    layout = SyntheticWorld(config).write(root / "world")
    links = json.loads((root / "world" / "world.json").read_text())["counts"]["img_links"]
    print(f"world: {links:,} image links in {config.wat_files} WAT files ({time.monotonic() - started:.0f}s to build)")

    queries = root / "queries"
    cli = [sys.executable, "-m", "wit_builder.cli"]
    measure(
        [
            *cli,
            "queries",
            "--wiki-dump",
            layout.wiki_dump_glob,
            "--wordnet",
            str(layout.wordnet_dir),
            "--out",
            str(queries),
        ]
    )
    out = root / "harvest"
    run = measure(
        [
            *cli,
            "harvest",
            "--queries",
            str(queries),
            "--wat",
            str(layout.wat_paths),
            "--out",
            str(out),
            f"--direct_num_workers={args.workers}",
            "--direct_running_mode=multi_processing",
        ]
    )
    stats = json.loads((out / "stats.json").read_text())
    pairs = stats["pairs_read"]
    print(f"harvest: {pairs:,} pairs read, {stats['kept']:,} kept, adds up: {stats['adds_up']}")
    print(f"seconds={run['seconds']:.1f} peak_mib={run['peak_mib']:.0f} (largest process)")
    print(f"pairs_per_second={pairs / run['seconds']:,.0f} per_core={pairs / run['seconds'] / args.workers:,.0f}")


if __name__ == "__main__":
    main()
