"""``wit-builder verify SHARDS``: flags, the check, and a summary a person can read."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence

from wit_builder.stage_settings import bounded_number, range_text

MAX_WORKERS = 256  # threads reading shards at once; more only queues requests


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "shards",
        metavar="SHARDS",
        help="a shard folder, its manifest.json, or shard URLs (brace patterns, '::' lists; local or fsspec)",
    )
    parser.add_argument("--quick", action="store_true", help="check only the manifest's sizes and SHA-256 sums")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument(
        "--workers",
        type=bounded_number(int, 1, MAX_WORKERS),
        default=min(MAX_WORKERS, os.cpu_count() or 2),
        help=f"shards checked at once (default: the cores; {range_text(1, MAX_WORKERS)})",
    )


def run_command(args: argparse.Namespace, _: Sequence[str]) -> int:
    from wit_builder.errors import StageFailed
    from wit_builder.shard.verify import verify

    verdict = verify(args.shards, quick=args.quick, workers=args.workers)
    result = verdict.as_dict()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"[verify] {result['shards']:,} shard(s), {result['samples']:,} samples, "
            f"{result['bytes'] / 1e6:,.1f} MB; {result['checked']} check"
            f"{' against ' + result['manifest'] if result['manifest'] else ' (no manifest found)'}"
        )
        for error in result["errors"]:
            where = error["shard"].rsplit("/", 1)[-1] + ": " if error["shard"] else ""
            print(f"[verify] ERROR {where}{error['error']}")
        print(
            "[verify] OK: every check passed" if verdict.ok else f"[verify] FAILED: {len(result['errors'])} problem(s)"
        )
    if not verdict.ok:
        first = result["errors"][0]
        where = f"{first['shard']}: " if first["shard"] else ""
        more = f" (and {len(result['errors']) - 1} more)" if len(result["errors"]) > 1 else ""
        raise StageFailed(f"{where}{first['error']}{more}")
    return 0
