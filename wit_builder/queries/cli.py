"""``wit-builder queries``: flags from ``QueriesSettings``, and the thin runner around the pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from wit_builder.queries.settings import QueriesSettings


def run(settings: QueriesSettings, beam_args: Sequence[str]) -> int:
    from wit_builder.io.stage_folders import check_out
    from wit_builder.queries import phrase_sources, text_counts
    from wit_builder.queries.inputs import readable_dumps, resolve_inputs
    from wit_builder.queries.pipeline import build_pipeline
    from wit_builder.stage_run import run_pipeline
    from wit_builder.stderr import warn_skipped

    inputs = resolve_inputs(
        list(settings.wiki_dump), list(settings.pageviews), settings.wordnet, list(settings.wordnet_lmf)
    )
    check_out(settings.out, "queries")
    inputs = readable_dumps(inputs, settings.rules.default_language)
    out = settings.out.rstrip("/")
    print(
        f"[queries] {len(inputs.wiki_dump)} dump file(s), {len(inputs.pageviews)} pageview file(s), "
        f"WordNet: {inputs.wordnet or 'none'} -> {settings.out}",
        flush=True,
    )
    report, seconds = run_pipeline(
        "queries",
        lambda pipeline: build_pipeline(pipeline, inputs, settings.rules, settings.tuning, out),
        beam_args,
        out,
    )
    counts = report["counts"]
    unread = (*text_counts.SKIPPED, *phrase_sources.SKIPPED)  # named where they are counted
    skipped = ", ".join(f"{name} {counts[name]:,}" for name in unread if counts.get(name)) or "nothing"
    print(
        f"[queries] {report['queries']} queries "
        f"({', '.join(f'{s} {n}' for s, n in report['queries_per_source'].items())}) "
        f"from {counts.get('articles', 0)} articles, {counts.get('tokens', 0)} tokens "
        f"in {seconds:.1f}s; skipped: {skipped}"
    )
    warn_skipped("queries", report["unreadable_files"])
    if not report["queries"]:  # an empty query list makes every later stage keep nothing
        from wit_builder.errors import StageFailed

        raise StageFailed(
            f"no query was kept from {counts.get('articles', 0):,} articles ({counts.get('tokens', 0):,} tokens): "
            "no candidate passed the thresholds; for a small dump lower --min-unigram-count and --min-bigram-count"
        )
    return 0
