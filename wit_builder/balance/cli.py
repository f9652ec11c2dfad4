"""``wit-builder balance``: flags from ``BalanceSettings``, and the thin runner around the
pipeline and its report."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from wit_builder.balance.settings import BalanceSettings

SETTINGS = BalanceSettings


def candidate_inputs(patterns: Sequence[str]) -> tuple[list[str], str | None]:
    """Candidate files, and the query list a harvest folder names (``wit_builder.io.upstream``)."""
    import fsspec

    from wit_builder.io.upstream import query_list_named_by
    from wit_builder.stage_run import stage_inputs

    queries = None
    for pattern in patterns:
        folder = pattern.rstrip("/")
        filesystem, _ = fsspec.core.url_to_fs(folder)
        if filesystem.isdir(f"{folder}/candidates"):  # a harvest folder
            queries = query_list_named_by(folder) or queries
    return stage_inputs(patterns, "candidates"), queries


def run(settings: BalanceSettings, beam_args: Sequence[str]) -> int:
    import fsspec

    from wit_builder.balance.pipeline import BalanceInputs, build_pipeline
    from wit_builder.progress import Progress, files_in
    from wit_builder.report.balance import write_balance_report
    from wit_builder.stage_run import replace_outputs, run_pipeline

    rules = settings.rules
    try:
        files, listed = candidate_inputs(settings.candidates)
    except (ValueError, FileNotFoundError) as error:
        print(f"wit-builder balance: {error}", file=sys.stderr)
        return 1
    queries = settings.queries or listed
    if queries:
        query_fs, _ = fsspec.core.url_to_fs(queries)
        if not query_fs.exists(queries):
            print(f"wit-builder balance: the query list {queries!r} does not exist", file=sys.stderr)
            return 1
    if not files:
        print(f"wit-builder balance: no candidate Parquet file in {', '.join(settings.candidates)}", file=sys.stderr)
        return 1
    inputs = BalanceInputs(tuple(files), queries)
    out = settings.out.rstrip("/")
    replace_outputs(out, ("balanced", "report"), ("balanced",))  # a re-run replaces them whole
    print(f"[balance] {len(files)} candidate file(s), t={rules.per_query}, seed={rules.seed} -> {out}", flush=True)
    progress = Progress("files balanced", len(files), files_in(f"{out}/balanced/*.parquet"))
    report, seconds = run_pipeline(
        lambda pipeline: build_pipeline(pipeline, inputs, rules, out), beam_args, out, progress
    )
    html = write_balance_report(out)
    print(
        f"[balance] {report['kept']:,} of {report['pairs_in']:,} pairs kept in {seconds:.1f}s "
        f"({report['dropped']['over_cap']:,} over the cap); report: {html}"
    )
    for unreadable in report["unreadable_files"]:  # counted in stats.json, as harvest counts its own
        print(f"[balance] WARNING unreadable, skipped: {unreadable['path']}: {unreadable['error']}", file=sys.stderr)
    if not report["files_read"]:  # a stage that could read none of its inputs has failed
        print(f"wit-builder balance: none of the {len(files)} file(s) could be read as harvest candidates "
              "(uid, url, text, page_url, source, matches); see stats.json", file=sys.stderr)  # fmt: skip
        return 1
    return 0
