"""Shard URL lists as WebDataset and open_clip write them: sources joined with ``::``, each a
path or URL with brace patterns (``gs://b/set/{000000..000123}.tar``), or a shard stage's folder
(its manifest lists the shards). Shared by ``verify`` and the trainer, so both accept the same
strings."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import fsspec
from braceexpand import braceexpand

from wit_builder.errors import UsageError
from wit_builder.io.json_files import read_json

# The most shard URLs one spec may name: 10^10 samples at 10,000 a shard. More is a typo
# ({000000000..099999999}), and expanding it whole would take gigabytes before any check.
MAX_SHARDS = 1_000_000


def iter_urls(spec: str) -> Iterator[str]:
    """The URLs of ``spec``, in order, one at a time (``a/{0..2}.tar::b/x.tar`` gives four)."""
    for source in spec.split("::"):
        source = source.strip()
        if source:
            yield from braceexpand(source)


_RANGE = re.compile(r"^(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?$")


def _groups(text: str) -> Iterator[str]:
    """The top-level ``{...}`` groups of a pattern (their insides), escaped braces skipped."""
    depth, start, index = 0, 0, 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            depth += 1
            if depth == 1:
                start = index + 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                yield text[start:index]
        index += 1


def _alternatives(inside: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(inside):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(inside[start:index])
            start = index + 1
    return [*parts, inside[start:]]


def expansion_size(pattern: str) -> int:
    """How many strings ``braceexpand`` makes of ``pattern``, counted without making them:
    ranges ``{a..b}`` and ``{a..b..step}`` by arithmetic, lists ``{x,y}`` by their parts."""
    size = 1
    for inside in _groups(pattern):
        alternatives = _alternatives(inside)
        if len(alternatives) > 1:
            size *= sum(expansion_size(part) for part in alternatives)
        elif match := _RANGE.match(inside):
            first, last, step = match.groups()
            low, high = (int(first), int(last)) if first.lstrip("-").isdigit() else (ord(first), ord(last))
            size *= abs(high - low) // max(1, abs(int(step or 1))) + 1
    return size


def expand_urls(spec: str, limit: int = MAX_SHARDS) -> list[str]:
    """Every URL of ``spec``; a spec naming more than ``limit`` is refused (``UsageError``) from
    the pattern's arithmetic, before anything is expanded or read."""
    named = sum(expansion_size(source.strip()) for source in spec.split("::") if source.strip())
    urls = list(itertools.islice(iter_urls(spec), limit + 1)) if named <= limit else []
    if named > limit or len(urls) > limit:
        raise UsageError(
            f"{spec!r} names {max(named, len(urls)):,} shard URLs, more than the {limit:,} a set "
            "may have; check its brace pattern"
        )
    return urls


WANTED = "wants a shard folder (the shard stage's output: manifest.json and .tar files), its manifest or shard URLs"


def resolve_shard_set(spec: str) -> tuple[list[str], dict | None, str | None]:
    """(shard URLs, the manifest, its path) for a shard stage's folder, its manifest.json, or a
    URL list; a URL list comes with the manifest beside its shards when there is one."""
    spec = spec.rstrip("/")
    filesystem, _ = fsspec.core.url_to_fs(spec)
    plain = "::" not in spec and "{" not in spec and not any(ch in spec for ch in "*?[")
    if plain and not filesystem.exists(spec):
        raise UsageError(f"{spec}: no such file or folder; {WANTED}")
    if spec.endswith(".json") or (plain and filesystem.isdir(spec)):
        manifest_path = spec if spec.endswith(".json") else f"{spec}/manifest.json"
        folder = manifest_path.rsplit("/", 1)[0] if "/" in manifest_path else "."
        if filesystem.exists(manifest_path):
            manifest = read_json(manifest_path, "manifest")
            return [f"{folder}/{shard['name']}" for shard in manifest["shards"]], manifest, manifest_path
        urls = sorted(filesystem.glob(f"{spec}/*.tar"))
        if not urls:
            from wit_builder.io.stage_folders import holds_other_stage

            if held := holds_other_stage(spec):
                raise UsageError(f"{spec} {held}; {WANTED}")
            raise UsageError(f"{spec}: holds no manifest.json and no .tar file; {WANTED}")
        protocol = spec.split("://", 1)[0] + "://" if "://" in spec else ""
        return [protocol + url if protocol and "://" not in url else url for url in urls], None, None
    urls = expand_urls(spec)
    if not urls:
        raise UsageError(f"no shard URL in {spec!r}; {WANTED}")
    beside = f"{urls[0].rsplit('/', 1)[0]}/manifest.json" if "/" in urls[0] else "manifest.json"
    try:
        if fsspec.core.url_to_fs(beside)[0].exists(beside):
            return urls, read_json(beside, "manifest"), beside
    except OSError:  # an unreachable store: the shards' own errors will say more
        pass
    return urls, None, None
