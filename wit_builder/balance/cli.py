"""``wit-builder balance``: flags from ``BalanceSettings``, and the thin runner around the
pipeline and its report."""

from __future__ import annotations

from collections.abc import Sequence

from wit_builder import stages
from wit_builder.balance.settings import BalanceSettings


def candidate_inputs(patterns: Sequence[str]) -> tuple[list[str], str | None]:
    """Candidate files, and the query list a harvest folder names (``wit_builder.io.upstream``)."""
    import fsspec

    from wit_builder.io.stage_folders import input_files
    from wit_builder.io.upstream import query_list_named_by

    queries = None
    for pattern in patterns:
        folder = pattern.rstrip("/")
        filesystem, _ = fsspec.core.url_to_fs(folder)
        if filesystem.isdir(f"{folder}/candidates"):  # a harvest folder
            queries = query_list_named_by(folder) or queries
    source = stages.main_input("balance")
    return input_files("--candidates", patterns, source.name, source.data), queries


def run(settings: BalanceSettings, beam_args: Sequence[str]) -> int:
    from wit_builder.balance.pipeline import BalanceInputs, build_pipeline
    from wit_builder.errors import StageFailed
    from wit_builder.io.chunks import none_readable, require_readable
    from wit_builder.io.query_list import check_query_list
    from wit_builder.io.stage_folders import check_out
    from wit_builder.progress import Progress, files_in
    from wit_builder.report.balance import write_balance_report
    from wit_builder.stage_run import replace_outputs, run_pipeline
    from wit_builder.stderr import warn_skipped

    rules = settings.rules
    files, listed = candidate_inputs(settings.candidates)
    queries = settings.queries or listed
    if queries:
        check_query_list("--queries", queries, read=False)
    check_out(settings.out, "balance")
    if queries:
        check_query_list("--queries", queries)
    readable, unreadable = require_readable(files, "candidates", "harvest candidates")
    paths, rows = tuple(f.path for f in readable), tuple(f.rows for f in readable)
    inputs = BalanceInputs(paths, queries, tuple(unreadable), rows)
    out = settings.out.rstrip("/")
    replace_outputs(out, "balance", ("balanced", "report"), ("balanced",))  # a re-run replaces them whole
    cap = "none (no cap)" if rules.per_query is None else rules.per_query
    print(f"[balance] {len(readable)} candidate file(s), t={cap}, seed={rules.seed} -> {out}", flush=True)
    progress = Progress("files balanced", len(readable), files_in(f"{out}/balanced/*.parquet"))
    report, seconds = run_pipeline(
        "balance", lambda pipeline: build_pipeline(pipeline, inputs, rules, out), beam_args, out, progress
    )
    html = write_balance_report(out)
    bad = report["dropped"].get("malformed_matches", 0)
    malformed = f", {bad:,} with a null among their matches" if bad else ""
    print(
        f"[balance] {report['kept']:,} of {report['pairs_in']:,} pairs kept in {seconds:.1f}s "
        f"({report['dropped']['over_cap']:,} over the cap{malformed}); report: {html}"
    )
    if not report["files_read"]:  # a stage that could read none of its inputs has failed
        failed = [(row["path"], row["error"]) for row in report["unreadable_files"]]
        raise StageFailed(none_readable(failed, "harvest candidates", "candidates") + "; see stats.json")
    from wit_builder.kept_checks import require_kept

    require_kept(report["kept"], report["pairs_in"], report["dropped"], "pairs", "see stats.json")
    warn_skipped("balance", report["unreadable_files"])
    return 0
