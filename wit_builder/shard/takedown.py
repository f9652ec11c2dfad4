"""Takedowns after publication: samples removed from a finished shard set, and the removal logged.

A published set gets requests: a rights holder names URLs, a hash-sharing body names images,
an auditor names samples. ``wit-builder takedown SHARDS --uids|--urls|--hashes FILE --reason``
finds the samples (by uid, image URL, or SHA-256 of the stored image, read from the shards'
index Parquet files, never the tars) and rewrites only the shards that hold them: the tar
without the sample's members, the index without its row, the shard stage's sidecar, and then
``manifest.json`` (counts, sizes, SHA-256 sums) and ``sizes.json``. Other samples keep their
keys; a key left unused is a gap, which readers and ``verify`` accept. Who asked, what, when and
why is appended to ``takedowns.jsonl`` beside the manifest; the log names removed samples by
uid and shard, never by URL or caption, so the log does not republish what it removed.

Crash safety, with a journal. The new tars and indexes are written beside the old ones under
``.takedown-partial`` names; then ``takedown.pending.json`` records the request, every new
file's size and sum, and each rewritten shard's new sidecar whole; only then are the partial
files renamed into place, the sidecars, manifest and sizes rewritten, the log appended and the
journal removed. Every file is written whole (``.partial``, then renamed): a kill leaves the old
file or the new one, never an empty or cut one, and what the journal holds is written again. A kill before the journal
leaves the set as it was (stale partial files are overwritten next time); a kill after it is
rolled forward by the next ``takedown`` command (or ``wit-builder takedown SHARDS --resume``),
so the set is never left half-changed. The same request again finds nothing left to remove and
changes nothing: no file is written and no line is logged. Like every command that writes a
folder, it holds the folder's ``_LOCK`` while it runs.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import fsspec
import pyarrow as pa
import pyarrow.compute as pc

from wit_builder.atomic import atomic_output, write_atomically
from wit_builder.errors import StageFailed, UsageError
from wit_builder.io.chunks import parquet_columns
from wit_builder.io.folder_lock import lock_out
from wit_builder.io.json_files import read_json, read_json_lines, write_json
from wit_builder.schemas import read_table, sparse_left_out, write_table, write_table_omitting_nulls
from wit_builder.shard.tar_format import end_of_archive, iter_members, member

KINDS = {"uids": "uid", "urls": "url", "hashes": "sha256"}  # request kind -> index column
PARTIAL = ".takedown-partial"
JOURNAL = "takedown.pending.json"
LOG = "takedowns.jsonl"


@dataclass
class TakedownResult:
    requested: int
    removed: dict[str, list[str]] = field(default_factory=dict)  # shard name -> uids removed
    not_found: int = 0
    rolled_forward: bool = False
    entry: dict | None = None

    @property
    def samples_removed(self) -> int:
        return sum(len(uids) for uids in self.removed.values())


def read_request(path: str, kind: str) -> list[str]:
    """The entries of a request file: one a line, blank lines and ``#`` comments skipped; hashes
    are lower-cased hex SHA-256 (64 digits), and a line that is not one is a ``UsageError``."""
    entries: list[str] = []
    try:
        with fsspec.open(path, "rb") as handle:
            for number, data in enumerate(handle, 1):
                try:
                    line = data.decode("utf-8").strip()
                except UnicodeDecodeError as error:
                    raise UsageError(
                        f"--{kind} {path}: line {number} is not UTF-8 (byte 0x{data[error.start]:02x} at column "
                        f"{error.start + 1}); a request file is UTF-8 text, one {KINDS[kind]} a line"
                    ) from None
                if not line or line.startswith("#"):
                    continue
                if kind == "hashes":
                    line = line.lower()
                    if len(line) != 64 or any(ch not in "0123456789abcdef" for ch in line):
                        raise UsageError(f"--hashes {path}: line {number} is not a SHA-256 (64 hex digits)")
                entries.append(line)
    except FileNotFoundError:
        raise UsageError(f"--{kind} {path}: no such file") from None
    except (IsADirectoryError, PermissionError) as error:
        raise UsageError(f"--{kind} {path}: cannot be read ({type(error).__name__})") from None
    if not entries:
        raise UsageError(f"--{kind} {path}: names nothing (one {KINDS[kind]} a line)")
    return entries


def shard_folder(spec: str) -> str:
    """The shard stage's finished folder that ``spec`` (the folder or its manifest.json) names."""
    folder = spec.rstrip("/")
    folder = folder.rsplit("/", 1)[0] if folder.endswith("manifest.json") else folder
    filesystem, _ = fsspec.core.url_to_fs(folder)
    if not filesystem.exists(f"{folder}/manifest.json"):
        raise UsageError(f"{spec}: no manifest.json there; expected a shard stage's finished folder")
    return folder


def _rewrite_tar(source: str, target: str, drop_keys: set[str]) -> tuple[int, str]:
    """Copy the tar at ``source`` to ``target`` without the members of ``drop_keys``; (bytes, sha256)."""
    digest, size = hashlib.sha256(), 0
    with fsspec.open(source, "rb") as reader, atomic_output(target) as writer:

        def write(data: bytes) -> None:
            nonlocal size
            writer.write(data)
            digest.update(data)
            size += len(data)

        for found, data in iter_members(reader):
            if found.name.split(".", 1)[0] not in drop_keys:
                write(b"".join(member(found.name, data)))
        write(end_of_archive(size))
    return size, digest.hexdigest()


def _matching_rows(index: pa.Table, column: str, wanted: set[str]) -> pa.Table:
    return index.filter(pc.is_in(index.column(column), value_set=pa.array(sorted(wanted), pa.string())))


def takedown(
    spec: str, kind: str, entries: Iterable[str], reason: str, by: str | None = None, request_file: str | None = None
) -> TakedownResult:
    """Remove the samples ``entries`` (of ``kind``: uids, urls or hashes) name from the shard set at
    ``spec`` (its folder or manifest), after rolling forward any takedown a kill interrupted."""
    if kind not in KINDS:
        raise UsageError(f"a takedown names samples by one of {', '.join(KINDS)}")
    if not reason.strip():
        raise UsageError("--reason is required: the log says why each sample was removed")
    folder = shard_folder(spec)
    lock_out(folder)  # one writer per folder: not beside a shard run or another takedown
    rolled = roll_forward(folder)
    wanted = set(entries)
    manifest = read_json(f"{folder}/manifest.json", "manifest")
    result = TakedownResult(len(wanted), rolled_forward=rolled)
    column = KINDS[kind]
    planned: dict[str, dict] = {}
    found: set[str] = set()
    for shard in manifest["shards"]:
        index = read_table(f"{folder}/{shard['index']}", "shard_index")
        hits = _matching_rows(index, column, wanted)
        if not hits.num_rows:
            continue
        found.update(hits.column(column).to_pylist())
        name = shard["name"]
        drop_keys = set(hits.column("key").to_pylist())
        size, sha256 = _rewrite_tar(f"{folder}/{name}", f"{folder}/{name}{PARTIAL}", drop_keys)
        kept = index.filter(pc.invert(pc.is_in(index.column("key"), value_set=pa.array(sorted(drop_keys)))))
        without = sparse_left_out(parquet_columns(f"{folder}/{shard['index']}"))  # an index without lang stays so
        write_table(kept.drop_columns(list(without)), f"{folder}/{shard['index']}{PARTIAL}", "shard_index", without)
        plan = {"index": shard["index"], "samples": kept.num_rows, "bytes": size, "sha256": sha256}
        planned[name] = {
            **plan,
            "removed": sorted(hits.column("uid").to_pylist()),
            "sidecar": _new_sidecar(folder, name, manifest, kept, plan),
        }
    result.not_found = len(wanted - found)
    if not planned:
        return result
    request_digest = hashlib.sha256("\n".join(sorted(wanted)).encode()).hexdigest()
    entry = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "who": by or getpass.getuser(),
        "why": reason.strip(),
        "what": {
            "by": kind,
            "request_file": request_file,
            "request_sha256": request_digest,
            "entries": len(wanted),
            "not_found": result.not_found,
        },
        "removed": {name: plan["removed"] for name, plan in sorted(planned.items())},
        "samples_removed": sum(len(plan["removed"]) for plan in planned.values()),
    }
    write_json(f"{folder}/{JOURNAL}", {"entry": entry, "shards": planned})  # the commit: written whole
    _apply(folder)
    result.removed = entry["removed"]
    result.entry = entry
    return result


def _new_sidecar(folder: str, name: str, manifest: dict, kept: pa.Table, plan: dict) -> dict | None:
    """The shard stage's sidecar of a rewritten shard, whole, for the journal: so that applying
    the takedown writes it in one piece, and a kill that left it empty or cut is rolled forward
    from the journal. Its per-query counts are those of the kept index rows; None when the shard
    has no sidecar (a set whose work/ was removed)."""
    from collections import Counter

    from wit_builder.capping.languages import row_keys
    from wit_builder.io.json_files import read_work_json

    path = sidecar_path(folder, name)
    if not fsspec.core.url_to_fs(path)[0].exists(path):
        return None
    old = read_work_json(path)
    if not isinstance(old, dict):  # cut by a kill (an earlier version wrote it in place): rebuilt
        old = {"name": name, "fingerprint": manifest.get("fingerprint"), "duplicate_uid": 0}
    langs = kept.column("lang").to_pylist() if "lang" in kept.column_names else [None] * kept.num_rows
    counts: Counter[str] = Counter()
    for matches, lang in zip(kept.column("matches").to_pylist(), langs, strict=True):
        counts.update(row_keys(matches, lang))
    return {**old, "samples": plan["samples"], "bytes": plan["bytes"], "sha256": plan["sha256"],
            "kept_per_query": dict(sorted(counts.items()))}  # fmt: skip


def sidecar_path(folder: str, name: str) -> str:
    """Where the shard stage keeps shard ``name``'s sidecar."""
    return f"{folder}/work/shards/{name.removesuffix('.tar')}.json"


def roll_forward(folder: str) -> bool:
    """Finish a takedown a kill interrupted after its journal was written; True when there was one.
    When the set itself is gone (a fresh shard run emptied the folder, keeping the log and the
    journal), the request is still logged, so the run about to write the set leaves it out."""
    filesystem, _ = fsspec.core.url_to_fs(folder)
    if not filesystem.exists(f"{folder}/{JOURNAL}"):
        return False
    if filesystem.exists(f"{folder}/manifest.json"):
        _apply(folder)
    else:
        entry = read_json(f"{folder}/{JOURNAL}").get("entry", {})
        if not _logged(folder, entry):
            _append_line(f"{folder}/{LOG}", json.dumps(entry, ensure_ascii=False, sort_keys=True))
        filesystem.rm(f"{folder}/{JOURNAL}")
    return True


def _apply(folder: str) -> None:
    """Steps after the journal, each safe to repeat: rename the new files into place, write the
    sidecars, manifest and sizes whole from the journal (whatever a kill left of them), append
    the log line once, remove the journal."""
    filesystem, _ = fsspec.core.url_to_fs(folder)
    try:
        journal = read_json(f"{folder}/{JOURNAL}")
        shards, entry = journal["shards"], journal["entry"]
    except (ValueError, KeyError, TypeError) as error:
        raise StageFailed(f"{folder}/{JOURNAL}: an interrupted takedown's journal cannot be read ({error})") from error
    for name, plan in shards.items():
        for final in (f"{folder}/{plan['index']}", f"{folder}/{name}"):  # the index first, the tar last
            if filesystem.exists(final + PARTIAL):
                filesystem.mv(final + PARTIAL, final)
        if plan.get("sidecar") is not None:  # so a resumed shard stage keeps the rewritten shard as it is
            _write_json_atomically(sidecar_path(folder, name), plan["sidecar"])
    manifest = read_json(f"{folder}/manifest.json", "manifest")
    for shard in manifest["shards"]:
        if shard["name"] in shards:
            plan = shards[shard["name"]]
            shard.update(samples=plan["samples"], bytes=plan["bytes"], sha256=plan["sha256"])
    manifest["totals"]["samples"] = sum(shard["samples"] for shard in manifest["shards"])
    manifest["totals"]["bytes"] = sum(shard["bytes"] for shard in manifest["shards"])
    manifest["takedowns"] = len(read_log(folder)) + (0 if _logged(folder, entry) else 1)
    _write_json_atomically(f"{folder}/manifest.json", manifest, "manifest")
    sizes = {shard["name"]: shard["samples"] for shard in manifest["shards"]}
    _write_json_atomically(f"{folder}/sizes.json", sizes, "sizes")
    _refresh_counts(folder, manifest)
    if manifest.get("release") is not None:  # a set the shard stage wrote: its release files follow it
        from wit_builder.publish.release_files import write_release_files

        write_release_files(folder, manifest)
    if not _logged(folder, entry):
        _append_line(f"{folder}/{LOG}", json.dumps(entry, ensure_ascii=False, sort_keys=True))
    filesystem.rm(f"{folder}/{JOURNAL}")


def _refresh_counts(folder: str, manifest: dict) -> None:
    """The shard stage's ``stats.json`` and its per-query report as the set now is: samples
    written are the manifest's, the difference is ``taken_down``, and each query's kept count is
    counted again in the indexes. Derived from the set, not decremented, so safe to repeat; the
    report page is drawn again from them. A set without them (another tool's) is left alone."""
    from collections import Counter

    from wit_builder.capping.languages import row_keys
    from wit_builder.report.balance import SHARD_WORDING, write_balance_report

    filesystem, _ = fsspec.core.url_to_fs(folder)
    stats_path, report_path = f"{folder}/stats.json", f"{folder}/report/balance.parquet"
    if not (filesystem.exists(stats_path) and filesystem.exists(report_path)):
        return
    stats = read_json(stats_path, "stats.shard")
    removed = stats["written"] - manifest["totals"]["samples"]
    if removed:
        stats["written"] = manifest["totals"]["samples"]
        stats["bytes"] = manifest["totals"]["bytes"]
        stats["rejected"]["taken_down"] = stats["rejected"].get("taken_down", 0) + removed
        _write_json_atomically(stats_path, stats, "stats.shard")
    kept: Counter[str] = Counter()
    for shard in manifest["shards"]:
        index = read_table(f"{folder}/{shard['index']}", "shard_index")
        langs = index.column("lang").to_pylist() if "lang" in index.column_names else [None] * index.num_rows
        for matches, lang in zip(index.column("matches").to_pylist(), langs, strict=True):
            kept.update(row_keys(matches, lang))
    report = read_table(report_path, "balance_report")
    langs = report.column("lang").to_pylist() if "lang" in report.column_names else [None] * report.num_rows
    queries = report.column("query").to_pylist()
    now = [kept.get(f"{lang}\t{query}" if lang else query, 0) for query, lang in zip(queries, langs, strict=True)]
    if now == report.column("kept").to_pylist():
        return
    field = report.schema.field("kept")
    report = report.set_column(report.schema.get_field_index("kept"), field, pa.array(now, field.type))
    write_table_omitting_nulls(report, report_path, "balance_report")  # lang only where it was
    write_balance_report(folder, SHARD_WORDING, "shard")


def _logged(folder: str, entry: dict) -> bool:
    return any(logged == entry for logged in read_log(folder))


def read_log(folder: str) -> list[dict]:
    """Every takedown of the set, oldest first (``takedowns.jsonl``; a damaged line is skipped)."""
    return read_json_lines(f"{folder.rstrip('/')}/{LOG}")


def _append_line(path: str, line: str) -> None:
    """Append through a whole-file rewrite: object stores cannot append, and a reader sees the
    old log or the new one."""
    filesystem, _ = fsspec.core.url_to_fs(path)
    old = filesystem.cat_file(path) if filesystem.exists(path) else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    write_atomically(path, old + line.encode("utf-8") + b"\n")


def _write_json_atomically(path: str, document: dict, schema: str | None = None) -> None:
    """As ``write_json`` lays it out, keeping non-ASCII text as it is (the log's reasons), and
    checked against ``schema`` when one is named."""
    write_json(path, document, ensure_ascii=False, schema=schema)
