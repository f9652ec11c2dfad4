"""``wit-builder queries``: flags from ``QueriesSettings``, and the thin runner around the pipeline."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from wit_builder.queries.settings import QueriesSettings

SETTINGS = QueriesSettings


def run(settings: QueriesSettings, beam_args: Sequence[str]) -> int:
    from wit_builder.io.stage_folders import check_out
    from wit_builder.queries.pipeline import build_pipeline, readable_dumps, resolve_inputs
    from wit_builder.stage_run import run_pipeline

    inputs = resolve_inputs(list(settings.wiki_dump), list(settings.pageviews), settings.wordnet)
    check_out(settings.out, "queries")
    inputs = readable_dumps(inputs)
    for path, error in inputs.unreadable:  # counted in stats.json too
        print(f"[queries] WARNING unreadable, skipped: {path}: {error}", file=sys.stderr)
    out = settings.out.rstrip("/")
    print(
        f"[queries] {len(inputs.wiki_dump)} dump file(s), {len(inputs.pageviews)} pageview file(s), "
        f"WordNet: {inputs.wordnet or 'none'} -> {settings.out}",
        flush=True,
    )
    report, seconds = run_pipeline(
        lambda pipeline: build_pipeline(pipeline, inputs, settings.rules, settings.tuning, out), beam_args, out
    )
    counts = report["counts"]
    print(
        f"[queries] {report['queries']} queries "
        f"({', '.join(f'{s} {n}' for s, n in report['queries_per_source'].items())}) "
        f"from {counts.get('articles', 0)} articles, {counts.get('tokens', 0)} tokens "
        f"in {seconds:.1f}s; {counts.get('malformed_pages', 0)} malformed page(s) skipped"
    )
    return 0
