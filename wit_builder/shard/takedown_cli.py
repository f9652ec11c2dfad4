"""``wit-builder takedown SHARDS --uids|--urls|--hashes FILE --reason TEXT``: flags and a summary."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from wit_builder.wording import counted


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shards", metavar="SHARDS", help="a shard stage's finished folder, or its manifest.json")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--uids", metavar="FILE", help="the samples' uids, one a line")
    which.add_argument("--urls", metavar="FILE", help="the samples' image URLs, one a line")
    which.add_argument("--hashes", metavar="FILE", help="SHA-256 of the stored images (hex), one a line")
    parser.add_argument("--reason", metavar="TEXT", required=True, help="why: recorded in takedowns.jsonl")
    parser.add_argument("--by", metavar="NAME", help="who asked or acted (default: the user running it)")


def run_command(args: argparse.Namespace, _: Sequence[str]) -> int:
    from wit_builder.shard.takedown import read_request, takedown

    kind = next(kind for kind in ("uids", "urls", "hashes") if getattr(args, kind))
    path = getattr(args, kind)
    result = takedown(args.shards, kind, read_request(path, kind), args.reason, args.by, request_file=path)
    if result.rolled_forward:
        print("[takedown] finished a takedown that had been interrupted")
    if not result.removed:
        print(f"[takedown] none of the {result.requested:,} {kind} is in the set (already removed?): nothing changed")
        return 0
    shards = ", ".join(sorted(result.removed))
    print(
        f"[takedown] removed {counted(result.samples_removed, 'sample')} from {counted(len(result.removed), 'shard')} "
        f"({shards}); "
        f"{result.not_found:,} of the {result.requested:,} {kind} not in the set; logged in takedowns.jsonl"
    )
    print(f"[takedown] check with: wit-builder verify {args.shards}")
    return 0
