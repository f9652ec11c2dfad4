"""Paths as the stages compare and expand them, for any fsspec filesystem.

``canonical`` is how two spellings of one place become one text (``/abs/out`` and ``out``;
``gs://b/x/`` and ``gs://b/x``): stage keys and the nesting checks compare canonical paths, so
the same folder given two ways is the same folder. ``static_prefix`` is the part of a glob or
brace pattern that names a fixed folder, what a pattern can reach at most.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable

import fsspec

PATTERN_CHARACTERS = "*?[{"


def canonical(path: str) -> str:
    """``path`` resolved: a local path absolute, symbolic links followed, without ``..`` or a
    trailing slash; a URL keeps its protocol, with its path normalised the same way."""
    text = str(path)
    if text.startswith("file://"):
        text = text[len("file://") :]
    if "://" not in text:
        return os.path.realpath(os.path.abspath(os.path.expanduser(text)))
    protocol, rest = text.split("://", 1)
    normal = posixpath.normpath("/" + rest).lstrip("/") if rest else ""
    return f"{protocol}://{normal}"


def canonical_spec(spec: str) -> str:
    """A path, pattern or ``::``-joined list of them (shard URLs), each part ``canonical``."""
    return "::".join(canonical(part.strip()) for part in str(spec).split("::") if part.strip())


def static_prefix(pattern: str) -> str:
    """The fixed folder part of a pattern: ``a/b/*.parquet`` → ``a/b``; a plain path is itself."""
    cut = min((pattern.find(ch) for ch in PATTERN_CHARACTERS if ch in pattern), default=-1)
    if cut < 0:
        return pattern
    head = pattern[:cut]
    return head.rsplit("/", 1)[0] if "/" in head else "."


def reaches(pattern: str, folder: str) -> bool:
    """Whether the canonical path or pattern ``pattern`` can name a file inside canonical
    ``folder``: a plain path when it is the folder or above it; a glob or brace pattern when its
    leading parts match the folder's and it goes deeper (``**`` reaches anything below its fixed
    part). ``data/*.parquet`` does not reach ``data/out``; ``data/*/x.parquet`` does."""
    import fnmatch
    import re

    if not any(ch in pattern for ch in PATTERN_CHARACTERS):
        return contains(pattern, folder)
    if "**" in pattern:
        return contains(static_prefix(pattern), folder)
    parts = re.sub(r"\{[^{}]*\}", "*", pattern).split("/")
    below = folder.split("/")
    return len(parts) > len(below) and all(
        fnmatch.fnmatchcase(name, part) for name, part in zip(below, parts, strict=False)
    )


def contains(outer: str, inner: str) -> bool:
    """Whether canonical path ``inner`` is ``outer`` or lies below it."""
    outer = outer.rstrip("/")
    return inner == outer or inner.startswith(outer + "/")


def expand_globs(patterns: Iterable[str]) -> list[str]:
    """Files matching each pattern (a path, a glob or a folder), sorted and without duplicates.

    Remote matches keep their protocol (``gs://bucket/x``), so the list can be handed to workers
    as it is. A folder stands for every file below it. A pattern matching nothing raises
    ``FileNotFoundError`` naming it: a typo must not become an empty run.
    """
    found: set[str] = set()
    for pattern in patterns:
        filesystem, _ = fsspec.core.url_to_fs(pattern)
        protocols = (filesystem.protocol,) if isinstance(filesystem.protocol, str) else filesystem.protocol
        local = "file" in protocols
        if any(ch in pattern for ch in "*?["):
            matches = [m for m in filesystem.glob(pattern) if filesystem.isfile(m)]
        elif filesystem.isdir(pattern):
            matches = list(filesystem.find(pattern))
        elif filesystem.exists(pattern):
            matches = [pattern]
        else:
            matches = []
        if not matches:
            raise FileNotFoundError(f"no file matches {pattern!r}")
        found.update(match if local else filesystem.unstrip_protocol(match) for match in matches)
    return sorted(found)
