"""``wit-builder report RUN_DIR``: regenerate the reports of a run from its stage outputs: the
balance pages, and for a chain run its ``report/index.html``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import fsspec

from wit_builder.report.balance import write_balance_report


def balance_folders(run_dir: str) -> list[str]:
    """The balance stage folders under ``run_dir``: itself, or its ``balance/`` (a chain run)."""
    run_dir = run_dir.rstrip("/")
    filesystem, _ = fsspec.core.url_to_fs(run_dir)
    candidates = [run_dir, f"{run_dir}/balance"]
    return [
        d
        for d in candidates
        if filesystem.exists(f"{d}/report/balance.parquet") and filesystem.exists(f"{d}/stats.json")
    ]


def _name_queries(run_dir: str, given: str) -> None:
    """``RUN/report/queries.txt``: the queries the run report shows pictures of, besides the most
    matched (one a line; kept until named again, so later reports show them too)."""
    from wit_builder.atomic import write_atomically
    from wit_builder.errors import UsageError
    from wit_builder.report.pictures_section import NAMED_QUERIES, QUERIES_FILE

    queries = list(dict.fromkeys(q.strip() for q in given.split(",") if q.strip()))
    if len(queries) > NAMED_QUERIES:
        raise UsageError(f"--queries: {len(queries)} queries named; at most {NAMED_QUERIES}, so the report stays small")
    filesystem, _ = fsspec.core.url_to_fs(run_dir)
    filesystem.makedirs(f"{run_dir}/report", exist_ok=True)
    write_atomically(f"{run_dir}/{QUERIES_FILE}", "".join(f"{query}\n" for query in queries))


def run_command(args: argparse.Namespace, beam_args: Sequence[str]) -> int:
    from wit_builder.errors import StageFailed, UsageError
    from wit_builder.io.chunks import READ_ERRORS
    from wit_builder.io.folder_lock import lock_out
    from wit_builder.io.stage_folders import holds_other_stage, is_run_folder
    from wit_builder.report.run_page import write_run_report

    run_dir = args.run_dir.rstrip("/")
    filesystem, _ = fsspec.core.url_to_fs(run_dir)
    wanted = "it wants a run folder (wit-builder run) or a balance or shard stage's folder"
    if not filesystem.isdir(run_dir):
        raise UsageError(f"{args.run_dir}: no such file or folder; {wanted}")
    folders = balance_folders(run_dir)
    chain = is_run_folder(run_dir)
    if not folders and not chain:
        if held := holds_other_stage(run_dir):
            raise UsageError(f"{args.run_dir} {held}, which has no report; {wanted}")
        raise UsageError(f"{args.run_dir}: holds no report/balance.parquet and no stage folders; {wanted}")
    lock_out(run_dir)  # not while a run or stage is writing there
    if args.queries is not None:
        if not chain:
            raise UsageError(f"--queries: {args.run_dir} is not a run folder; the pictures are in a run's report")
        _name_queries(run_dir, args.queries)
    for folder in folders:
        try:
            print(f"[report] {write_balance_report(folder)}")
        except (*READ_ERRORS, KeyError) as error:
            source = f"{folder}/report/balance.parquet"
            raise StageFailed(
                f"{source} (or its stats.json): cannot be read ({type(error).__name__}: {error})"
            ) from error
    if chain:
        print(f"[report] {write_run_report(run_dir)}")
    return 0
