"""``wit-builder report RUN_DIR``: regenerate the reports of a run from its stage outputs: the
balance pages, and for a chain run its ``report/index.html``."""

from __future__ import annotations

import argparse
import sys
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


def is_chain_run(run_dir: str) -> bool:
    """Whether ``run_dir`` is a ``wit-builder run`` folder (a stage folder for each stage that ran)."""
    from wit_builder.report.run_page import STAGES

    filesystem, _ = fsspec.core.url_to_fs(run_dir)
    return any(filesystem.isfile(f"{run_dir.rstrip('/')}/{stage}/stats.json") for stage in STAGES)


def run_command(args: argparse.Namespace, beam_args: Sequence[str]) -> int:
    from wit_builder.report.run_page import write_run_report

    folders = balance_folders(args.run_dir)
    chain = is_chain_run(args.run_dir)
    if not folders and not chain:
        print(
            f"wit-builder report: no report inputs under {args.run_dir!r} (looked for report/balance.parquet and "
            "stats.json in it and in its balance/ folder)",
            file=sys.stderr,
        )
        return 1
    for folder in folders:
        print(f"[report] {write_balance_report(folder)}")
    if chain:
        print(f"[report] {write_run_report(args.run_dir)}")
    return 0
