"""``wit-builder demo`` and ``wit-builder world``: the chain on the synthetic world.

The demo writes a synthetic world, serves its web on loopback while the chain runs (the
download stage fetches from it), and says what each stage did and where its output is.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wit_builder.chain import StepResult, format_results, run_chain
from wit_builder.testing import SyntheticWorld, WorldConfig, WorldLayout


def demo_config(layout: WorldLayout) -> dict[str, Any]:
    """The chain config for a written world: its sources, and thresholds sized for a small dump."""
    return {
        "queries": {
            "wiki_dump": layout.wiki_dump_glob,
            "pageviews": layout.pageviews_glob,
            "wordnet": str(layout.wordnet_dir),
            # PMI 30 needs billions of bigrams; on a dump of ~100k, PMI 12 over pairs seen at
            # least 3 times keeps the world's collocations and little else.
            "min_bigram_pmi": 12,
            "min_bigram_count": 3,
        },
        "harvest": {"wat": layout.wat_glob, "pairs": str(layout.pairs_dir / "*")},
        "balance": {"per_query": 50},
        "download": {"allow_private_network": True, "read_timeout": 2.0, "retries": 1},
        "shard": {},
        "tokenizer": {},
    }


def _describe_world(layout: WorldLayout, world: SyntheticWorld, base_urls: list[str]) -> str:
    catalog = world.catalog
    return "\n".join(
        [
            f"  wiki dump   {layout.wiki_dump_glob}  ({len(world.wiki_pages)} pages)",
            f"  pageviews   {layout.pageviews_glob}",
            f"  wordnet     {layout.wordnet_dir}",
            f"  WAT files   {layout.wat_glob}  ({sum(len(p.images) for p in catalog.pages)} image links)",
            f"  URL lists   {layout.pairs_dir}/",
            f"  web         {', '.join(base_urls)}  ({len(catalog.images)} images, {len(catalog.pages)} pages)",
        ]
    )


def demo_command(args, beam_args: Sequence[str]) -> int:
    out = Path(args.out)
    world = SyntheticWorld(WorldConfig.scaled(args.scale, seed=args.seed))
    started = time.monotonic()
    with world.serve(port=args.port) as web:
        layout = world.write(out / "world", web.base_urls)
        seconds = time.monotonic() - started
        print(f"[demo] synthetic world (seed {args.seed}, scale {args.scale}) written in {seconds:.1f}s:")
        print(_describe_world(layout, world, web.base_urls), flush=True)
        results = run_chain(demo_config(layout), str(out / "run"), beam_args)
    print("\n[demo] the chain:")
    print(format_results(results))
    print(_closing_words(results, out))
    return 0


def _closing_words(results: list[StepResult], out: Path) -> str:
    done = [r for r in results if r.outcome == "done"]
    stopped = next((r for r in results if r.outcome != "done"), None)
    lines = [f"\n[demo] the world is in {out / 'world'} (world.json describes it)."]
    if done:
        lines.append(f"[demo] results of the stages that ran are under {out / 'run'}.")
    manifest = out / "run" / "shard" / "manifest.json"
    if any(r.stage == "shard" for r in done) and manifest.exists():
        train_data = json.loads(manifest.read_text())["train_data"]
        lines.append(f"[demo] the shards are ready for a trainer: --train-data '{train_data}'")
        tokenizer = out / "run" / "tokenizer" / "tokenizer.json"
        if tokenizer.exists():
            lines.append(
                "[demo] train the tiny model on them (CPU, about a minute):\n"
                f"  wit-train train --train-data '{train_data}' --tokenizer {tokenizer} --model tiny "
                f"--batch-size 32 --steps 200 --lr 1e-3 --warmup 20 --workers 1 --out {out / 'run' / 'train'}"
            )
    if stopped is not None:
        lines.append(
            f"[demo] the chain stopped at '{stopped.stage}': {stopped.outcome}. "
            "Later stages need its output, so they did not run."
        )
    return "\n".join(lines)


def world_command(args, beam_args: Sequence[str]) -> int:
    world = SyntheticWorld(WorldConfig.scaled(args.scale, seed=args.seed))
    if not args.serve:
        layout = world.write(args.out, compression=args.compression)
        print(
            f"wrote the synthetic world to {layout.root} (not served: its URLs point at {world.offline_base_urls()[0]})"
        )
        return 0
    with world.serve() as web:
        layout = world.write(args.out, web.base_urls, compression=args.compression)
        print(f"wrote the synthetic world to {layout.root}; serving its web at {', '.join(web.base_urls)}")
        print("press Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped", file=sys.stderr)
    return 0
