"""Check a set of shards the way a trainer will meet them, and say exactly what is wrong.

For each tar: its size and SHA-256 against the manifest; that it parses to the end (a damaged
tar is named with the byte offset of the damage); that every sample has an image, a caption and
a json; that every image decodes; that each ``KEY.json`` and ``KEY.txt`` agree with the row of
the Parquet index beside the tar, in order; and across the set, that no key appears twice.
``quick`` checks only the manifest's sizes and sums.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import fsspec
import numpy as np
from PIL import Image

from wit_builder.errors import UsageError
from wit_builder.hashing import hash64
from wit_builder.io.shard_urls import resolve_shard_set
from wit_builder.schemas import read_table
from wit_builder.shard.records import json_disagreements
from wit_builder.shard.tar_format import TarDamage, iter_members

IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")
_KEY_AND_EXTENSION = re.compile(r"^((?:.*/|)[^./]+)\.([^/]*)$")  # webdataset's rule: key up to the first dot


@dataclass
class ShardCheck:
    url: str
    samples: int = 0
    bytes: int = 0
    sha256: str = ""
    errors: list[str] = field(default_factory=list)
    key_hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))


@dataclass
class Verdict:
    shards: list[ShardCheck]
    manifest: str | None
    quick: bool
    set_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.set_errors and not any(shard.errors for shard in self.shards)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "checked": "quick" if self.quick else "full",
            "manifest": self.manifest,
            "shards": len(self.shards),
            "samples": sum(shard.samples for shard in self.shards),
            "bytes": sum(shard.bytes for shard in self.shards),
            "errors": [{"shard": shard.url, "error": error} for shard in self.shards for error in shard.errors]
            + [{"shard": None, "error": error} for error in self.set_errors],
        }


class HashingReader:
    """A read-only stream that counts and hashes what is read through it."""

    def __init__(self, handle):
        self.handle = handle
        self.size = 0
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.size += len(data)
        self.sha256.update(data)
        return data

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


def resolve(spec: str) -> tuple[list[str], dict | None, str | None]:
    """(shard URLs, the manifest, its path): ``wit_builder.io.shard_urls.resolve_shard_set``."""
    return resolve_shard_set(spec)


def _manifest_entry(manifest: dict | None, url: str) -> dict | None:
    if manifest is None:
        return None
    name = url.rsplit("/", 1)[-1]
    return next((shard for shard in manifest["shards"] if shard["name"] == name), None)


def _index_rows(url: str) -> list[dict] | None:
    index = url[: -len(".tar")] + ".parquet" if url.endswith(".tar") else None
    if index is None:
        return None
    filesystem, _ = fsspec.core.url_to_fs(index)
    return read_table(index, "shard_index").to_pylist() if filesystem.exists(index) else None


def _check_sample(key: str, members: dict[str, bytes], row: dict | None) -> list[str]:
    problems = []
    images = [ext for ext in IMAGE_EXTENSIONS if ext in members]
    missing = [
        name
        for name, present in (("an image", images), ("txt", "txt" in members), ("json", "json" in members))
        if not present
    ]
    if missing:
        problems.append(f"sample {key!r} has no {', no '.join(missing)} (members: {', '.join(sorted(members))})")
    if images:
        try:
            with Image.open(io.BytesIO(members[images[0]])) as image:
                image.load()
        except Exception as error:  # Pillow raises many types for a broken file; every one is a finding
            problems.append(f"{key}.{images[0]} does not decode: {type(error).__name__}: {error}")
    if row is None:
        return problems
    if row["key"] != key:
        return [*problems, f"sample {key!r} is where the index has {row['key']!r}"]
    if "txt" in members and members["txt"].decode("utf-8", "replace") != row["text"]:
        problems.append(f"{key}.txt differs from the index's text")
    if "json" in members:
        try:
            document = json.loads(members["json"])
        except ValueError as error:
            return [*problems, f"{key}.json is not JSON: {error}"]
        differ = json_disagreements(document, row)
        if differ:
            problems.append(f"{key}.json disagrees with the index on {', '.join(differ)}")
    return problems


def check_shard(url: str, expected: dict | None, quick: bool) -> ShardCheck:
    check = ShardCheck(url)
    filesystem, _ = fsspec.core.url_to_fs(url)
    if not filesystem.exists(url):
        check.errors.append("missing: the file does not exist")
        return check
    rows = None
    if not quick:
        try:
            rows = _index_rows(url)
        except (OSError, ValueError) as error:
            check.errors.append(f"the index cannot be read: {error}")
    keys: list[str] = []
    with filesystem.open(url, "rb") as handle:
        stream = HashingReader(handle)
        if quick:
            stream.drain()
        else:
            try:
                _check_members(stream, check, rows, keys)
            except Exception as error:  # whatever a hostile tar does, it is this shard's finding, not the run's end
                check.errors.append(f"cannot be read: {type(error).__name__}: {error}")
            stream.drain()
    check.bytes, check.sha256 = stream.size, stream.sha256.hexdigest()
    check.key_hashes = np.array([hash64(key) for key in keys], np.uint64)
    if rows is not None and check.samples != len(rows) and not any("at byte" in e for e in check.errors):
        check.errors.append(f"the tar holds {check.samples:,} samples; its index has {len(rows):,} rows")
    if expected is not None:
        for what, found, wanted in (
            ("size", check.bytes, expected["bytes"]),
            ("sha256", check.sha256, expected["sha256"]),
        ):
            if found != wanted:
                check.errors.append(f"{what} is {found}; the manifest says {wanted}")
        if not quick and check.samples != expected["samples"] and not check.errors:
            check.errors.append(f"holds {check.samples:,} samples; the manifest says {expected['samples']:,}")
    return check


def _check_members(stream: HashingReader, check: ShardCheck, rows: list[dict] | None, keys: list[str]) -> None:
    current: str | None = None
    members: dict[str, bytes] = {}

    def close_sample() -> None:
        row = rows[check.samples] if rows is not None and check.samples < len(rows) else None
        check.errors.extend(_check_sample(current, members, row))
        keys.append(current)
        check.samples += 1

    others: list = []
    try:
        for member, data in iter_members(stream, others):
            for other, kind in others:  # a published shard holds regular files only
                check.errors.append(f"member {other.name!r} at byte {other.offset:,} is {kind}, not a regular file")
            others.clear()
            match = _KEY_AND_EXTENSION.match(member.name)
            if match is None:
                check.errors.append(f"member {member.name!r} at byte {member.offset:,} has no KEY.EXTENSION name")
                continue
            if unsafe := unsafe_name(member.name):
                check.errors.append(f"member {member.name!r} at byte {member.offset:,} {unsafe}")
            key, extension = match.group(1), match.group(2).lower()
            if key != current:
                if current is not None:
                    close_sample()
                current, members = key, {}
            members[extension] = data
        if current is not None:
            close_sample()
    except TarDamage as damage:
        check.errors.append(f"damaged {damage}")
    for other, kind in others:
        check.errors.append(f"member {other.name!r} at byte {other.offset:,} is {kind}, not a regular file")


def unsafe_name(name: str) -> str | None:
    """Why extracting a member of this name would write outside the folder it is extracted
    into (``tar -x`` and ``tarfile.extractall`` without a filter follow such names), or None."""
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "has an absolute path: unsafe to extract"
    if ".." in name.replace("\\", "/").split("/"):
        return "climbs out of the folder with '..': unsafe to extract"
    return None


def verify(spec: str, quick: bool = False, workers: int = 4) -> Verdict:
    urls, manifest, manifest_path = resolve(spec)
    if quick and manifest is None:
        raise UsageError(f"--quick checks the manifest's sums, and there is no manifest for {spec!r}")
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        checks = list(pool.map(lambda url: check_shard(url, _manifest_entry(manifest, url), quick), urls))
    verdict = Verdict(checks, manifest_path, quick)
    if manifest is not None:
        unlisted = [c.url for c in checks if _manifest_entry(manifest, c.url) is None]
        verdict.set_errors += [f"{url} is not in the manifest" for url in unlisted]
    if not quick:
        verdict.set_errors += duplicate_keys(checks)
    return verdict


def duplicate_keys(checks: list[ShardCheck]) -> list[str]:
    """Keys that appear more than once across the set, each named with the shards that hold it.
    Keys are compared by 64-bit hash (8 bytes a sample in memory); a repeated one is named from
    the indexes of its shards."""
    everything = np.concatenate([check.key_hashes for check in checks]) if checks else np.zeros(0, np.uint64)
    values, counts = np.unique(everything, return_counts=True)
    problems = []
    for value, count in zip(values[counts > 1][:20], counts[counts > 1][:20], strict=True):
        holders = [check for check in checks if np.isin(value, check.key_hashes)]
        problems.append(
            f"key {_key_named(value, holders)} appears {int(count)} times, in "
            + ", ".join(check.url.rsplit("/", 1)[-1] for check in holders)
        )
    return problems


def _key_named(value: np.uint64, holders: list[ShardCheck]) -> str:
    for check in holders:
        try:
            rows = _index_rows(check.url) or []
        except (OSError, ValueError):
            continue
        for row in rows:
            if hash64(row["key"]) == int(value):
                return repr(row["key"])
    return f"(hash {int(value):016x})"
