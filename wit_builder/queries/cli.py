"""``wit-builder queries``: flags, and the thin runner around the pipeline."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence


def add_arguments(parser: argparse.ArgumentParser) -> None:
    inputs = parser.add_argument_group("inputs (local paths, globs or fsspec URLs; flags may repeat)")
    inputs.add_argument(
        "--wiki-dump",
        metavar="GLOB",
        action="append",
        required=True,
        help="MediaWiki XML dump files (.xml, .xml.bz2, multistream .bz2 with its index)",
    )
    inputs.add_argument(
        "--pageviews",
        metavar="GLOB",
        action="append",
        default=[],
        help="pageview dumps (hourly pageviews-*.gz or per-article files); none: no titles",
    )
    inputs.add_argument("--wordnet", metavar="DIR", help="a WordNet 3.0 database folder; none: no WordNet queries")
    parser.add_argument("--out", metavar="DIR", required=True, help="writes queries.parquet, queries.txt, stats.json")
    rules = parser.add_argument_group("rules (defaults: MetaCLIP's build of CLIP's list)")
    rules.add_argument("--min-unigram-count", type=int, default=100, metavar="N", help="default: %(default)s")
    rules.add_argument("--min-bigram-pmi", type=float, default=30.0, metavar="PMI", help="default: %(default)s")
    rules.add_argument("--min-bigram-count", type=int, default=1, metavar="N", help="default: %(default)s")
    rules.add_argument(
        "--min-title-views",
        type=int,
        default=70,
        metavar="N",
        help="total views over all files given (default: %(default)s)",
    )
    rules.add_argument(
        "--min-hourly-views",
        type=int,
        default=50,
        metavar="N",
        help="an hourly value counts only from this many views (default: %(default)s)",
    )
    rules.add_argument(
        "--pageview-projects",
        default="en,en.wikipedia",
        metavar="CODES",
        help="project codes whose views count, comma-separated (default: %(default)s; add en.m for mobile)",
    )
    rules.add_argument("--wordnet-all-lemmas", action="store_true", help="add every lemma, not only synset names")
    rules.add_argument(
        "--target-size",
        type=int,
        metavar="N",
        help="instead of the thresholds: the best-ranked N queries in MetaCLIP's source proportions",
    )
    parser.add_argument(
        "--count-shards",
        type=int,
        default=64,
        metavar="S",
        help="counts travel in S shards; a worker holds 1/S of the vocabulary at a time "
        "(default: %(default)s; thousands for full Wikipedia). The output does not depend on it.",
    )
    parser.add_argument(
        "--hot-key-fanout",
        type=int,
        default=4,
        metavar="F",
        help="merge each shard's partial counts in F groups before the last merge (default: %(default)s; 1: off)",
    )


def run_command(args: argparse.Namespace, beam_args: Sequence[str]) -> int:
    import apache_beam as beam

    from wit_builder.beam_options import pipeline_options
    from wit_builder.queries.pipeline import QueryRules, build_pipeline, resolve_inputs

    try:
        inputs = resolve_inputs(args.wiki_dump, args.pageviews, args.wordnet)
    except FileNotFoundError as error:
        print(f"wit-builder queries: {error}", file=sys.stderr)
        return 1
    rules = QueryRules(
        min_unigram_count=args.min_unigram_count,
        min_bigram_pmi=args.min_bigram_pmi,
        min_bigram_count=args.min_bigram_count,
        min_title_views=args.min_title_views,
        min_hourly_views=args.min_hourly_views,
        pageview_projects=tuple(code.strip() for code in args.pageview_projects.split(",") if code.strip()),
        wordnet_all_lemmas=args.wordnet_all_lemmas,
        target_size=args.target_size,
    )
    print(
        f"[queries] {len(inputs.wiki_dump)} dump file(s), {len(inputs.pageviews)} pageview file(s), "
        f"WordNet: {inputs.wordnet or 'none'} -> {args.out}",
        flush=True,
    )
    started = time.monotonic()
    with beam.Pipeline(options=pipeline_options(beam_args)) as pipeline:
        build_pipeline(pipeline, inputs, rules, args.out, args.count_shards, args.hot_key_fanout)
    import fsspec

    with fsspec.open(f"{args.out.rstrip('/')}/stats.json", "rt") as handle:
        report = json.load(handle)
    counts = report["counts"]
    print(
        f"[queries] {report['queries']} queries "
        f"({', '.join(f'{s} {n}' for s, n in report['queries_per_source'].items())}) "
        f"from {counts.get('articles', 0)} articles, {counts.get('tokens', 0)} tokens "
        f"in {time.monotonic() - started:.1f}s; {counts.get('malformed_pages', 0)} malformed page(s) skipped"
    )
    return 0
