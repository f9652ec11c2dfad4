"""``wit-builder download``: flags, and the thin runner around the pipeline."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from wit_builder.download.images import ENCODE_FORMATS, RESIZE_MODES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pairs",
        metavar="PATH",
        action="append",
        required=True,
        help="the balance stage's folder, or its Parquet files",
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="writes samples/, status/, stats.json (and work/)")
    parser.add_argument(
        "--image-processes",
        type=int,
        default=0,
        metavar="N",
        help="decode and resize in N processes per worker (default 0: threads; use the core count "
        "when one worker process has the machine, as a single local FnApiRunner worker has)",
    )
    parser.add_argument(
        "--chunk-rows",
        type=int,
        default=500,
        metavar="N",
        help="pairs per output file and unit of resumption; 4 chunks are fetched together (default: 500)",
    )
    fetch = parser.add_argument_group("fetching")
    fetch.add_argument("--user-agent", metavar="TEXT", help="the User-Agent header (default: wit-builder/VERSION ...)")
    fetch.add_argument("--connect-timeout", type=float, default=10.0, metavar="S", help="default: %(default)s")
    fetch.add_argument("--read-timeout", type=float, default=20.0, metavar="S", help="between bytes (default: 20)")
    fetch.add_argument("--total-timeout", type=float, default=60.0, metavar="S", help="per attempt (default: 60)")
    fetch.add_argument("--retries", type=int, default=2, help="after the first attempt (default: %(default)s)")
    fetch.add_argument("--max-redirects", type=int, default=5, help="default: %(default)s")
    fetch.add_argument("--max-bytes", type=int, default=20 * 2**20, metavar="N", help="largest body (default: 20 MiB)")
    fetch.add_argument("--concurrency", type=int, default=64, help="open connections per worker (default: 64)")
    fetch.add_argument("--per-host", type=int, default=8, help="open connections per host and worker (default: 8)")
    fetch.add_argument("--allow-private-network", action="store_true",
                       help="fetch from private and loopback addresses (tests; never for crawls)")  # fmt: skip
    fetch.add_argument("--allowed-ports", metavar="LIST", help="e.g. 80,443 or 'any' (default: 80, 443 and 1024-65535)")
    fetch.add_argument("--ignore-opt-out", action="store_true", help="do not honour X-Robots-Tag: noai and the like")
    image = parser.add_argument_group("images (img2dataset's meanings)")
    image.add_argument("--image-size", type=int, default=256, help="default: %(default)s")
    image.add_argument("--resize-mode", choices=RESIZE_MODES, default="border", help="default: %(default)s")
    image.add_argument("--resize-only-if-bigger", action="store_true")
    image.add_argument("--encode-format", choices=tuple(ENCODE_FORMATS), default="jpg", help="default: %(default)s")
    image.add_argument("--encode-quality", type=int, default=95, help="default: %(default)s")
    image.add_argument("--min-image-size", type=int, default=32, metavar="PX", help="shorter side (default: 32)")
    image.add_argument("--max-aspect-ratio", type=float, default=float("inf"), help="longer / shorter side")
    image.add_argument("--max-pixels", type=int, default=89_478_485, help="decompression-bomb limit")
    dedupe = parser.add_argument_group("dedupe")
    dedupe.add_argument("--no-dedupe", action="store_true", help="keep exact and near duplicates")
    dedupe.add_argument(
        "--near-distance", type=int, default=4, metavar="BITS", help="perceptual-hash bits (default: 4)"
    )
    dedupe.add_argument(
        "--aspect-tolerance", type=float, default=0.05, help="near copies' aspect ratios (default: 0.05)"
    )


def _ports(text: str | None) -> frozenset[int] | None:
    if text is None:
        return None
    if text.strip().lower() == "any":
        return frozenset(range(1, 65536))
    return frozenset(int(part) for part in text.split(",") if part.strip())


def run_command(args: argparse.Namespace, beam_args: Sequence[str]) -> int:
    from wit_builder.download.fetch import FetchSettings
    from wit_builder.download.images import ImageSettings
    from wit_builder.download.pipeline import DownloadRules, build_pipeline
    from wit_builder.io.chunks import plan_chunks
    from wit_builder.stage_run import replace_outputs, run_pipeline, stage_inputs

    try:
        fetch = FetchSettings(
            **({"user_agent": args.user_agent} if args.user_agent else {}),
            connect_timeout=args.connect_timeout, read_timeout=args.read_timeout, total_timeout=args.total_timeout,
            retries=args.retries, max_redirects=args.max_redirects, max_bytes=args.max_bytes,
            concurrency=args.concurrency, per_host=args.per_host, allow_private_network=args.allow_private_network,
            allowed_ports=_ports(args.allowed_ports), honour_opt_out=not args.ignore_opt_out,
        )  # fmt: skip
        image = ImageSettings(
            args.image_size, args.resize_mode, args.resize_only_if_bigger, args.encode_format, args.encode_quality,
            args.min_image_size, args.max_aspect_ratio, args.max_pixels,
        )  # fmt: skip
        rules = DownloadRules(
            fetch, image, not args.no_dedupe, args.near_distance, args.aspect_tolerance,
            image_processes=args.image_processes,
        )  # fmt: skip
        files = stage_inputs(args.pairs, "balanced")
    except ValueError as error:
        print(f"wit-builder download: {error}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"wit-builder download: {error}", file=sys.stderr)
        return 1
    chunks = plan_chunks(files, args.chunk_rows)
    out = args.out.rstrip("/")
    # samples/ and status/ are recomputed from work/ on every run; work/ is what resumes.
    replace_outputs(out, ("samples", "status"), ("samples", "status", "work/fetched", "work/outcomes"))
    total = sum(chunk.rows for chunk in chunks)
    print(f"[download] {total:,} pairs in {len(chunks)} chunk(s) from {len(files)} file(s) -> {out}", flush=True)
    report, seconds = run_pipeline(lambda pipeline: build_pipeline(pipeline, chunks, rules, out), beam_args, out)
    statuses = ", ".join(f"{name} {count:,}" for name, count in report["statuses"].items())
    print(f"[download] {report['ok']:,} of {report['pairs_in']:,} images kept in {seconds:.1f}s "
          f"({report['chunks_resumed']} chunk(s) resumed); {statuses}")  # fmt: skip
    return 0
