"""The run report's "Re-checks after release": what each ``wit-builder recheck`` of the run's
shard set found, newest first, and the latest one in detail (drift by signal and by host, the
host files that changed, the first samples found). It reads ``RUN/recheck/*/recheck.json`` and
the latest folder's ``drift.parquet``: a re-check written elsewhere (``--out``) is not shown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import fsspec

from wit_builder.io.json_files import read_json
from wit_builder.report.templating import render
from wit_builder.schemas import read_table

SHOWN = 20  # hosts, host files and samples listed from the latest re-check
FINDINGS = ("consented", "unchanged", "opted_out", "gone", "changed", "unreachable")


def _rechecks(run_dir: str) -> tuple[list[tuple[str, dict]], list[str]]:
    """(folder, recheck.json) of each finished re-check, newest first; and what was wrong with
    each one that could not be read (named in the section, not left out unsaid)."""
    filesystem, _ = fsspec.core.url_to_fs(run_dir)
    found, unreadable = [], []
    for path in sorted(filesystem.glob(f"{run_dir}/recheck/*/recheck.json")):
        try:
            found.append((path.rsplit("/", 1)[0], read_json(path, "recheck")))
        except (ValueError, OSError) as error:
            unreadable.append(str(error))
    return sorted(found, key=lambda item: (item[1]["checked_at"], item[0]), reverse=True), unreadable


def _applied(summary: dict) -> str:
    applied = summary.get("applied")
    if applied is None:
        return "not applied"
    return f"{applied['samples_removed']:,} removed"


def _state(outcome: str | None, sha256: str | None) -> str:
    """``read, SHA-256 3f2a9c0b1d2e…``, ``missing``, or ``not recorded``."""
    if outcome is None:
        return "not recorded"
    return f"{outcome}, SHA-256 {sha256[:12]}…" if sha256 else outcome


def _history_row(summary: dict) -> list:
    counts = [summary["findings"].get(finding, 0) for finding in FINDINGS]
    requested = "yes" if summary["refetched"] else "no"
    return [summary["checked_at"], requested, summary["samples"], *counts, _applied(summary)]


def recheck_section(run_dir: str, all_stats: Mapping[str, Any]) -> str | None:
    rechecks, unreadable = _rechecks(run_dir)
    if not rechecks:
        if all_stats.get("shard") is None and not unreadable:
            return None
        return render("sections/recheck.html.j2", history=None, shards=f"{run_dir}/shard", unreadable=unreadable)
    folder, latest = rechecks[0]
    drift = read_table(f"{folder}/drift.parquet", "recheck").slice(0, SHOWN).to_pylist()
    host_columns = [finding for finding in FINDINGS[2:] if any(finding in host for host in latest["by_host"])]
    return render(
        "sections/recheck.html.j2",
        history=[_history_row(summary) for _, summary in rechecks],
        unreadable=unreadable,
        history_headers=["checked (UTC)", "images requested", "samples", *FINDINGS, "takedown"],
        latest=latest,
        rechecked=[s for s in latest["signals"]["honoured"] if s not in latest["signals"]["not_rechecked"]],
        host_headers=["host", "samples", *host_columns],
        folder=folder,
        by_signal=list(latest["opted_out_by_signal"].items()),
        hosts=[
            [host["origin"], host["samples"], *(host.get(finding, 0) for finding in host_columns)]
            for host in latest["by_host"][:SHOWN]
        ],
        changed_files=[
            [
                entry["origin"],
                entry["file"],
                _state(entry["outcome_then"], entry.get("sha256_then")),
                _state(entry["outcome"], entry.get("sha256")),
            ]
            for entry in latest["host_files"].get("changed_files", [])[:SHOWN]
        ],
        drift=[[row["url"], row["finding"], row["signal"] or "", row["evidence"] or ""] for row in drift],
        more_drift=max(0, sum(latest["findings"].get(f, 0) for f in FINDINGS[2:]) - len(drift)),
    )
