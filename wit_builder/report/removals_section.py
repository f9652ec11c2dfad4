"""The run report's "Opt-outs and removals": everything a run refused or removed, and why.

What an auditor asks of a collection before it is published: which sites said no and how
(opt-outs by signal and by host), what the blocklists caught (counts per list, never the
entries), which training images were copies of evaluation images (with thumbnails of each
evaluation image beside its copies, to check by eye), how many faces were blurred, and which
samples were taken down after publication (``takedowns.jsonl``). Each count is checked against
the download statuses it must add up to. It reads harvest's and download's ``stats.json``, the
download's status and ``eval_matches/`` files and evaluation hashes, and the shard folder's
takedown log: nothing else, so ``wit-builder report RUN`` rebuilds it at any time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import fsspec

from wit_builder.io.json_files import read_json, read_json_lines
from wit_builder.report.download_section import opted_out_hosts
from wit_builder.report.templating import render
from wit_builder.report.thumbnails import data_uri
from wit_builder.schemas import damage_named

THUMBNAILS_PER_SET = 40  # evaluation images shown with their copies, per set


def _eval_tables(download_dir: str, stats: Mapping[str, Any]) -> list[dict]:
    """Per evaluation set: its size, the images found in the collection and their copies, and
    (for the first ``THUMBNAILS_PER_SET`` found) each evaluation image's thumbnail beside its copies'."""
    import pyarrow.parquet as pq

    filesystem, _ = fsspec.core.url_to_fs(download_dir)
    copies: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(filesystem.glob(f"{download_dir}/eval_matches/*.parquet")):
        with filesystem.open(path, "rb") as handle, damage_named(path):
            for row in pq.read_table(handle).to_pylist():
                copies[row["eval_set"]][row["eval_id"]].append(row)
    tables = []
    for summary_path in sorted(filesystem.glob(f"{download_dir}/eval_sets/*.json")):
        name = summary_path.rsplit("/", 1)[-1].removesuffix(".json")
        summary = read_json(summary_path)
        found = copies.get(name, {})
        shown = sorted(found)[:THUMBNAILS_PER_SET]
        originals: dict[str, bytes | None] = {}
        hashes = summary_path.removesuffix(".json") + ".parquet"
        if shown and filesystem.exists(hashes):
            with filesystem.open(hashes, "rb") as handle, damage_named(hashes):
                table = pq.read_table(handle, columns=["id", "variant", "thumbnail"])
            originals = {
                row["id"]: row["thumbnail"] for row in table.to_pylist() if row["variant"] == 0 and row["id"] in shown
            }
        tables.append(
            {
                "name": name,
                "images": summary.get("images", 0),
                "found": len(found),
                "copies": sum(len(rows) for rows in found.values()),
                "dropped": stats.get("eval_sets", {}).get("duplicates_by_set", {}).get(name, 0),
                "unreadable": len(summary.get("unreadable", [])),
                "uninformative": summary.get("uninformative_hashes", 0),
                "matches": [
                    {
                        "id": eval_id,
                        "original": data_uri(originals.get(eval_id)),
                        "copies": [
                            {"uri": data_uri(row["thumbnail"]), "distance": row["distance"], "url": row["url"]}
                            for row in sorted(found[eval_id], key=lambda row: row["distance"])
                        ],
                    }
                    for eval_id in shown
                ],
                "more": max(0, len(found) - len(shown)),
            }
        )
    return tables


def removals_section(run_dir: str, all_stats: Mapping[str, Any]) -> str | None:
    stats = all_stats["download"]
    if stats is None:
        return None
    harvest = all_stats.get("harvest") or {}
    statuses = stats["statuses"]
    opt_out = stats.get("opt_out", {})
    by_signal = opt_out.get("opted_out_by_signal", {})
    host_files = [
        [name, outcomes.get("read", 0), outcomes.get("missing", 0), outcomes.get("unreachable", 0)]
        for name, outcomes in opt_out.get("host_files_fetched", {}).items()
    ]
    harvest_lists = harvest.get("blocklisted_by_list", {})
    download_lists = stats.get("blocklisted_by_list", {})
    blocklists = [[name, "harvest (URL, domain)", "pairs", n] for name, n in sorted(harvest_lists.items())]
    blocklists += [[name, "download (image hash)", "images", n] for name, n in sorted(download_lists.items())]
    download_dir = f"{run_dir}/download"
    eval_sets = _eval_tables(download_dir, stats)
    by_set = stats.get("eval_sets", {}).get("duplicates_by_set", {})
    takedowns = [
        [
            entry.get("when", ""),
            entry.get("who", ""),
            entry.get("why", ""),
            entry.get("what", {}).get("by", ""),
            entry.get("samples_removed", 0),
            ", ".join(sorted(entry.get("removed", {}))),
        ]
        for entry in read_json_lines(f"{run_dir}/shard/takedowns.jsonl")
        if isinstance(entry, dict)
    ]
    return render(
        "sections/removals.html.j2",
        honoured=opt_out.get("honoured", []),
        ignored=opt_out.get("ignored", []),
        by_signal=[[signal, n] for signal, n in by_signal.items()],
        opted_out=statuses.get("opted_out", 0),
        signals_add_up=sum(by_signal.values()) == statuses.get("opted_out", 0),
        opted_out_hosts=[list(host) for host in opted_out_hosts(download_dir)],
        host_files=host_files,
        blocklists=blocklists,
        harvest_blocklisted=harvest.get("dropped", {}).get("blocklisted", 0),
        harvest_lists_add_up=sum(harvest_lists.values()) == harvest.get("dropped", {}).get("blocklisted", 0),
        blocklisted=statuses.get("blocklisted", 0),
        download_lists_add_up=sum(download_lists.values()) == statuses.get("blocklisted", 0),
        eval_sets=eval_sets,
        eval_rows=[
            [s["name"], s["images"], s["found"], s["dropped"], s["unreadable"], s["uninformative"]] for s in eval_sets
        ],
        eval_radius=stats.get("eval_sets", {}).get("radius"),
        eval_checked=stats.get("eval_sets", {}).get("checked", 0),
        eval_duplicates=statuses.get("eval_duplicate", 0),
        sets_add_up=sum(by_set.values()) == statuses.get("eval_duplicate", 0),
        faces_blurred=stats.get("faces_blurred", 0),
        takedowns=takedowns,
    )
