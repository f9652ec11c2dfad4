"""Expand the path arguments of a stage into concrete files, for any fsspec filesystem."""

from __future__ import annotations

from collections.abc import Iterable

import fsspec


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
