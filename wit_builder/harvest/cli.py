"""``wit-builder harvest``: flags, and the thin runner around the pipeline."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

LIST_FORMATS = ("auto", "cc3m", "cc12m", "laion", "datacomp", "parquet", "tsv", "csv", "jsonl")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    inputs = parser.add_argument_group("inputs (local paths, globs or fsspec URLs; flags may repeat)")
    inputs.add_argument(
        "--queries",
        metavar="PATH",
        required=True,
        help="the queries stage's folder, its queries.parquet, or a .txt of one query a line",
    )
    inputs.add_argument(
        "--wat",
        metavar="GLOB",
        action="append",
        default=[],
        help="Common Crawl WAT files (.warc.wat.gz), or a wat.paths.gz listing",
    )
    inputs.add_argument(
        "--wat-prefix",
        metavar="URL",
        help="what wat.paths.gz entries are relative to (default: the listing's URL up to crawl-data/)",
    )
    inputs.add_argument(
        "--wat-limit", type=int, metavar="N", help="read only the first N WAT files (a sample of a crawl)"
    )
    inputs.add_argument(
        "--pairs", metavar="GLOB", action="append", default=[], help="URL + caption lists: parquet, TSV/CSV, JSONL"
    )
    inputs.add_argument(
        "--pairs-format",
        choices=LIST_FORMATS,
        default="auto",
        help="layout of the lists (default: from the file name; cc3m/cc12m: headerless TSV)",
    )
    inputs.add_argument("--url-column", metavar="NAME", help="the lists' URL column (default: url or URL)")
    inputs.add_argument("--caption-column", metavar="NAME", help="the lists' caption column (default: caption or text)")
    parser.add_argument(
        "--out", metavar="DIR", required=True, help="writes candidates/part-NNNNN.parquet and stats.json"
    )
    rules = parser.add_argument_group("rules")
    rules.add_argument("--min-text-chars", type=int, default=5, metavar="N", help="default: %(default)s")
    rules.add_argument("--max-text-chars", type=int, default=1000, metavar="N", help="default: %(default)s")
    rules.add_argument(
        "--image-extensions",
        metavar="LIST",
        help="keep only URLs whose path ends in one of these, e.g. jpg,jpeg,png,webp (default: any)",
    )
    rules.add_argument("--case-insensitive", action="store_true", help="match queries ignoring case")
    rules.add_argument(
        "--output-shards", type=int, default=8, metavar="N", help="candidate files (default: %(default)s)"
    )


def _layout(args: argparse.Namespace):
    from wit_builder.harvest.sources import PRESETS, ListLayout

    if args.pairs_format in PRESETS:
        return PRESETS[args.pairs_format]
    if args.pairs_format == "auto" and not (args.url_column or args.caption_column):
        return None
    kind = None if args.pairs_format == "auto" else args.pairs_format
    return ListLayout(kind or "auto", url=args.url_column or "url", text=args.caption_column or "caption")


def _wat_files(patterns: list[str], prefix: str | None, limit: int | None) -> list[str]:
    from wit_builder.harvest.sources import wat_paths_listing
    from wit_builder.io.paths import expand_globs

    files: list[str] = []
    for pattern in patterns:
        if pattern.endswith(("paths.gz", ".paths")):
            files.extend(wat_paths_listing(pattern, prefix))
        else:
            files.extend(expand_globs([pattern]))
    return files[:limit] if limit else files


def run_command(args: argparse.Namespace, beam_args: Sequence[str]) -> int:
    from wit_builder.harvest.normalise import TextRules
    from wit_builder.harvest.pipeline import HarvestInputs, HarvestRules, build_pipeline
    from wit_builder.io.paths import expand_globs
    from wit_builder.stage_run import replace_outputs, run_pipeline

    if not args.wat and not args.pairs:
        print("wit-builder harvest: give --wat and/or --pairs", file=sys.stderr)
        return 2
    try:
        inputs = HarvestInputs(
            queries=args.queries,
            wat_files=tuple(_wat_files(args.wat, args.wat_prefix, args.wat_limit)),
            list_files=tuple(expand_globs(args.pairs)) if args.pairs else (),
            list_layout=_layout(args),
        )
    except FileNotFoundError as error:
        print(f"wit-builder harvest: {error}", file=sys.stderr)
        return 1
    extensions = (
        frozenset(e.strip().lower().lstrip(".") for e in args.image_extensions.split(","))
        if args.image_extensions
        else None
    )
    rules = HarvestRules(
        TextRules(args.min_text_chars, args.max_text_chars), extensions, not args.case_insensitive, args.output_shards
    )
    out = args.out.rstrip("/")
    replace_outputs(out, ("candidates",))  # this stage's own output: a re-run replaces it whole
    print(f"[harvest] {len(inputs.wat_files)} WAT file(s), {len(inputs.list_files)} list file(s) -> {out}", flush=True)
    report, seconds = run_pipeline(lambda pipeline: build_pipeline(pipeline, inputs, rules, out), beam_args, out)
    dropped = ", ".join(f"{reason} {n}" for reason, n in report["dropped"].items() if n)
    print(
        f"[harvest] {report['kept']} of {report['pairs_read']} pairs kept in {seconds:.1f}s; "
        f"dropped: {dropped or 'none'}"
    )
    return 0
