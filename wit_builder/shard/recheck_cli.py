"""``wit-builder recheck SHARDS``: flags, the re-check, and a summary a person can read."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from wit_builder.wording import counted


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from wit_builder.shard.recheck_settings import RecheckSettings
    from wit_builder.stage_settings import add_flags

    parser.add_argument("shards", metavar="SHARDS", help="a shard stage's finished folder, or its manifest.json")
    add_flags(parser, RecheckSettings)


def run_command(args: argparse.Namespace, _: Sequence[str]) -> int:
    from wit_builder.shard.recheck import recheck
    from wit_builder.shard.recheck_settings import RecheckSettings
    from wit_builder.stage_settings import from_flags

    result = recheck(args.shards, from_flags(RecheckSettings, args))
    summary = result.summary
    findings = summary["findings"]
    shown = ", ".join(f"{finding} {n:,}" for finding, n in findings.items() if n)
    print(f"[recheck] {counted(summary['samples'], 'sample')}: {shown or 'none'}")
    if summary["opted_out_by_signal"]:
        signals = ", ".join(f"{signal} {n:,}" for signal, n in summary["opted_out_by_signal"].items())
        print(f"[recheck] opted out now, by signal: {signals}")
    if findings.get("unreachable"):
        print(f"[recheck] {counted(findings['unreachable'], 'sample')} could not be checked now (their host or image "
              "did not answer): neither cleared nor flagged; run recheck again later")  # fmt: skip
    hosts = summary["host_files"]
    print(f"[recheck] host files of {counted(hosts['origins'], 'origin')} read again; {hosts['changed']:,} changed "
          "since collection")  # fmt: skip
    if summary["signals"]["not_rechecked"]:
        print(f"[recheck] not re-checked: {', '.join(summary['signals']['not_rechecked'])}"
              f"{'' if summary['refetched'] else ' (add --refetch to request the images again)'}")  # fmt: skip
    request = summary["takedown_request"]
    print(f"[recheck] wrote {result.out}/recheck.json, drift.parquet and {request['file']} "
          f"({counted(request['samples'], 'sample')} found {', '.join(request['findings'])})")  # fmt: skip
    applied = summary.get("applied")
    if applied is not None:
        print(f"[recheck] took down {counted(applied['samples_removed'], 'sample')}; check with: "
              f"wit-builder verify {summary['shards']}")  # fmt: skip
    elif request["samples"]:
        request_file = f"{result.out}/{request['file']}"
        print(f"[recheck] to remove them: wit-builder takedown {summary['shards']} --uids {request_file} "
              "--reason TEXT (or run again with --apply)")  # fmt: skip
    return 0
