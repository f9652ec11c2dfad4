"""What a stage's source inputs are right now, so that ``wit-builder run`` can tell when they changed.

A stage's key holds its settings, and its source paths as text; the files behind them can
change while the text does not (a glob that gains a file, a URL list edited in place, a world
rewritten on a new port). So each source input is also fingerprinted: the files it resolves
to (a glob's matches, a folder's files, brace patterns expanded), and for each file its size
and its version: the modification time in nanoseconds on a local disk, an object store's
generation or ETag where the store gives one. A file added, removed, renamed or rewritten
changes the fingerprint; reading a file, or copying the run folder, does not, and neither do a
folder's lock and run markers (``_LOCK``, ``_SUCCESS``...) or ``.partial`` files.

The fingerprint is metadata only: no file is opened, and a glob or folder is one listing, so a
source of 100,000 WAT files on a bucket costs one paged listing, not 100,000 requests.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass

import fsspec

# What an object store calls a file's version, most specific first: GCS's generation, S3's
# and HTTP's ETag, then dates. A local file's is its st_mtime_ns (read directly: fsspec's is a float).
VERSION_FIELDS = ("generation", "ETag", "etag", "md5Hash", "LastModified", "updated", "last_modified", "mtime")
PATTERN_CHARACTERS = "*?["


@dataclass(frozen=True)
class Fingerprint:
    """One input flag's files, summarised: how many, their bytes, and a digest of every
    (path, size, version); two fingerprints are the same input exactly when the digests are."""

    files: int
    bytes: int
    digest: str

    def as_dict(self) -> dict:
        return asdict(self)

    def change_from(self, before: dict | None) -> str:
        """How this differs from an earlier fingerprint (its ``as_dict``), in a few words."""
        if not isinstance(before, dict) or before.get("digest") == self.digest:
            return "changed" if not isinstance(before, dict) else "unchanged"
        files, size = before.get("files"), before.get("bytes")
        if files != self.files:
            return f"{files} → {self.files} files"
        if size != self.bytes:
            return f"{self.files} files, {size:,} → {self.bytes:,} bytes"
        return f"{self.files} files, the same bytes, rewritten or renamed"


def _local(filesystem: fsspec.AbstractFileSystem) -> bool:
    protocols = filesystem.protocol if isinstance(filesystem.protocol, tuple) else (filesystem.protocol,)
    return "file" in protocols or "local" in protocols


def _version(filesystem: fsspec.AbstractFileSystem, path: str, info: dict) -> str:
    if _local(filesystem):
        try:
            return str(os.stat(path).st_mtime_ns)
        except OSError as error:
            return f"unreadable: {type(error).__name__}"
    for field in VERSION_FIELDS:
        if info.get(field) not in (None, ""):
            return str(info[field])
    return ""


def _transient(path: str) -> bool:
    """A folder's markers (its lock, with a heartbeat that changes every 30 s; run markers; a
    write probe) and half-written ``.partial`` files are not data: a source folder that another
    command holds, or that a stage once wrote, is the same source."""
    from wit_builder.io.stage_folders import marker_pattern

    name = path.rsplit("/", 1)[-1]
    return name.endswith(".partial") or marker_pattern().fullmatch(name) is not None


def _source_path(part: str) -> str:
    """An evaluation set's ``NAME=PATH`` is its PATH; anything else is itself."""
    name, equals, path = part.partition("=")
    if equals and name and "/" not in name and not os.path.exists(part):
        return path
    return part


def _entries(part: str) -> Iterator[tuple[str, int, str]]:
    """(path, size, version) of each file one path, glob, folder or brace pattern names; a
    path that names nothing gives one entry saying so, so that its later arrival is a change."""
    from braceexpand import braceexpand

    from wit_builder.io.shard_urls import MAX_SHARDS, expansion_size

    patterns = [part]
    if "{" in part and expansion_size(part) <= MAX_SHARDS:
        patterns = list(braceexpand(part))
    for pattern in patterns:
        filesystem, _ = fsspec.core.url_to_fs(pattern)
        try:
            if any(ch in pattern for ch in PATTERN_CHARACTERS):
                found = filesystem.glob(pattern, detail=True)
            elif filesystem.isdir(pattern):
                found = filesystem.find(pattern, detail=True)
            else:
                found = {pattern: filesystem.info(pattern)}
        except FileNotFoundError:
            yield pattern, -1, "missing"
            continue
        except OSError as error:  # a store that cannot be listed now: the key says so, no crash
            yield pattern, -1, f"unreadable: {type(error).__name__}"
            continue
        if not found:
            yield pattern, -1, "matches nothing"
        for path, info in sorted(found.items()):
            if info.get("type") == "directory" or _transient(path):
                continue
            yield path, int(info.get("size") or 0), _version(filesystem, path, info)


def fingerprint(specs: Iterable[str]) -> Fingerprint:
    """The fingerprint of one input flag's values (each a path, glob, folder, brace pattern, or
    ``::``-joined list of them)."""
    digest = hashlib.sha256()
    files = size = 0
    for spec in specs:
        for part in (p.strip() for p in str(spec).split("::")):
            if not part:
                continue
            for path, length, version in _entries(_source_path(part)):
                digest.update(f"{path}\0{length}\0{version}\n".encode("utf-8", "surrogateescape"))
                if length >= 0:
                    files, size = files + 1, size + length
    return Fingerprint(files, size, digest.hexdigest()[:24])
