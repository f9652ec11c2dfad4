"""``wit-builder balance``: flags, and the thin runner around the pipeline and its report."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--candidates",
        metavar="PATH",
        action="append",
        required=True,
        help="the harvest stage's folder, or candidate Parquet files / globs (may repeat)",
    )
    parser.add_argument(
        "--queries",
        metavar="PATH",
        help="the query list, for each query's source and the queries that matched nothing "
        "(default: the one named in the harvest folder's stats.json)",
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="writes balanced/*.parquet, report/, stats.json")
    rules = parser.add_argument_group("sampling")
    rules.add_argument(
        "--per-query", type=int, default=20_000, metavar="T", help="keep about T pairs per query (default: %(default)s)"
    )
    rules.add_argument("--seed", type=int, default=0, help="seed of the sampling decisions (default: %(default)s)")
    rules.add_argument(
        "--oversample",
        type=float,
        default=1.0,
        metavar="F",
        help="keep min(1, F*T/n) to leave room for download failures (default: %(default)s)",
    )
    tuning = parser.add_argument_group("tuning")
    tuning.add_argument(
        "--count-fanout", type=int, default=4, metavar="N", help="hot-key fan-out of the per-query sums (default: 4)"
    )
    tuning.add_argument(
        "--count-shards",
        type=int,
        default=64,
        metavar="S",
        help="per-query counts travel in S blobs per file; the result does not depend on S (default: 64)",
    )
    tuning.add_argument(
        "--batch-rows",
        type=int,
        default=65_536,
        metavar="N",
        help="rows read and written at a time: the row groups of the output files (default: %(default)s)",
    )


def candidate_inputs(patterns: Sequence[str]) -> tuple[list[str], str | None]:
    """Candidate files, and the query list a harvest folder's stats.json names (if any)."""
    import fsspec

    from wit_builder.stage_run import stage_inputs

    queries = None
    for pattern in patterns:
        folder = pattern.rstrip("/")
        filesystem, _ = fsspec.core.url_to_fs(folder)
        if filesystem.isdir(f"{folder}/candidates") and filesystem.isfile(f"{folder}/stats.json"):  # harvest's
            with fsspec.open(f"{folder}/stats.json", "rt") as handle:
                queries = json.load(handle).get("inputs", {}).get("queries") or queries
    return stage_inputs(patterns, "candidates"), queries


def run_command(args: argparse.Namespace, beam_args: Sequence[str]) -> int:
    import fsspec

    from wit_builder.balance.pipeline import BalanceInputs, BalanceRules, build_pipeline
    from wit_builder.report.balance import write_balance_report
    from wit_builder.stage_run import replace_outputs, run_pipeline

    try:
        rules = BalanceRules(
            args.per_query, args.oversample, args.seed, args.count_fanout, args.count_shards, args.batch_rows
        )
        files, listed = candidate_inputs(args.candidates)
    except (ValueError, FileNotFoundError) as error:
        print(f"wit-builder balance: {error}", file=sys.stderr)
        return 2 if isinstance(error, ValueError) else 1
    queries = args.queries or listed
    if queries:
        query_fs, _ = fsspec.core.url_to_fs(queries)
        if not query_fs.exists(queries):
            print(f"wit-builder balance: the query list {queries!r} does not exist", file=sys.stderr)
            return 1
    inputs = BalanceInputs(tuple(files), queries)
    out = args.out.rstrip("/")
    replace_outputs(out, ("balanced", "report"), ("balanced",))  # a re-run replaces them whole
    print(f"[balance] {len(files)} candidate file(s), t={rules.per_query}, seed={rules.seed} -> {out}", flush=True)
    report, seconds = run_pipeline(lambda pipeline: build_pipeline(pipeline, inputs, rules, out), beam_args, out)
    html = write_balance_report(out)
    print(
        f"[balance] {report['kept']:,} of {report['pairs_in']:,} pairs kept in {seconds:.1f}s "
        f"({report['dropped']['over_cap']:,} over the cap); report: {html}"
    )
    for unreadable in report["unreadable_files"]:  # counted in stats.json, as harvest counts its own
        print(f"[balance] WARNING unreadable, skipped: {unreadable['path']}: {unreadable['error']}", file=sys.stderr)
    return 0
