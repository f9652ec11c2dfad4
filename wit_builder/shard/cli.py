"""``wit-builder shard``: flags, and the thin runner around the pipeline."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--samples", metavar="PATH", action="append", required=True,
        help="the download stage's folder, or its samples Parquet files / globs (may repeat)",
    )  # fmt: skip
    parser.add_argument(
        "--out", metavar="DIR", required=True,
        help="writes NNNNNN.tar, NNNNNN.parquet, manifest.json, sizes.json, stats.json, report/",
    )  # fmt: skip
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--samples-per-shard", type=int, default=10_000, metavar="N", help="samples per shard (default: %(default)s)"
    )
    size.add_argument("--shard-bytes", metavar="SIZE", help="target tar size instead, e.g. 1GB or 500MiB")
    parser.add_argument("--seed", type=int, default=0, help="seed of the placement (default: %(default)s)")
    parser.add_argument(
        "--per-query", type=int, metavar="T",
        help="cap again at about T samples per query, with the balance stage's rule (default: no cap)",
    )  # fmt: skip
    parser.add_argument(
        "--base-url", metavar="URL", help="where the shards will be served from (gs://bucket/set/): the manifest's URLs"
    )
    parser.add_argument(
        "--queries", metavar="PATH",
        help="the query list, so the report shows each query's source and the queries that matched nothing",
    )  # fmt: skip
    tuning = parser.add_argument_group("tuning")
    tuning.add_argument(
        "--chunk-rows", type=int, default=2_000, metavar="N",
        help="rows per scatter unit (its memory and its run file) (default: %(default)s)",
    )  # fmt: skip
    tuning.add_argument(
        "--read-budget", metavar="SIZE", default="64MiB",
        help="bytes a shard writer buffers across its segments (default: %(default)s)",
    )  # fmt: skip
    tuning.add_argument(
        "--count-shards", type=int, default=64, metavar="S", help="per-query counts travel in S blobs (default: 64)"
    )


def run_command(args: argparse.Namespace, beam_args: Sequence[str]) -> int:
    from wit_builder.shard.inputs import already_done, describe_inputs
    from wit_builder.shard.manifest import upstream_stats
    from wit_builder.shard.pipeline import build_pipeline
    from wit_builder.shard.placement import parse_size
    from wit_builder.shard.settings import ShardSettings
    from wit_builder.stage_run import replace_outputs, run_pipeline

    try:
        settings = ShardSettings(
            samples_per_shard=args.samples_per_shard,
            shard_bytes=parse_size(args.shard_bytes) if args.shard_bytes else None,
            seed=args.seed, per_query=args.per_query, base_url=args.base_url, chunk_rows=args.chunk_rows,
            read_budget=parse_size(args.read_budget), count_shards=args.count_shards,
        )  # fmt: skip
        inputs, chunks = describe_inputs(args.samples, args.queries, settings)
    except (ValueError, FileNotFoundError) as error:
        print(f"wit-builder shard: {error}", file=sys.stderr)
        return 2 if isinstance(error, ValueError) else 1
    out = args.out.rstrip("/")
    done = already_done(out, inputs, settings)
    if done is not None:
        print(f"[shard] {out} is up to date ({done['totals']['shards']} shard(s), {done['totals']['samples']:,} "
              f"samples); nothing to do.\n[shard] --train-data '{done['train_data']}'")  # fmt: skip
        return 0
    # The manifest is the commit point: none may describe a folder while it is being rewritten.
    stale = ("manifest.json", "sizes.json", "stats.json", "report")
    replace_outputs(out, stale, ("work/runs", "work/shards", "report"))
    rows = sum(chunk.rows for chunk in chunks)
    print(f"[shard] {rows:,} samples in {len(inputs.files)} file(s), {len(chunks)} unit(s) -> {out}", flush=True)
    upstream = upstream_stats(args.samples)
    report, seconds = run_pipeline(
        lambda pipeline: build_pipeline(pipeline, inputs, chunks, settings, out, upstream), beam_args, out
    )
    return print_summary(out, report, seconds)


def print_summary(out: str, report: dict, seconds: float) -> int:
    from wit_builder.shard.manifest import read_manifest

    rejected = ", ".join(f"{reason} {count:,}" for reason, count in report["rejected"].items() if count) or "none"
    print(f"[shard] {report['written']:,} of {report['samples_in']:,} samples written into {report['shards']} "
          f"shard(s), {report['bytes'] / 1e6:,.1f} MB, in {seconds:.1f}s; capped {report['capped']:,}; "
          f"rejected: {rejected}; report: {out}/report/balance.html")  # fmt: skip
    for unreadable in report["unreadable_files"]:
        print(f"[shard] WARNING unreadable, skipped: {unreadable['path']}: {unreadable['error']}", file=sys.stderr)
    if not report["written"]:
        print("wit-builder shard: no sample could be written; see stats.json", file=sys.stderr)
        return 1
    manifest = read_manifest(f"{out}/manifest.json")
    print(f"[shard] --train-data '{manifest['train_data']}'")
    return 0
