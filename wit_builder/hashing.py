"""Stable hashes shared by the stages (Python's ``hash`` of a str is salted per process)."""

from __future__ import annotations

import zlib


def shard_of(key: str, shards: int) -> int:
    """A shard number for ``key`` that is the same in every process, on every machine."""
    return zlib.crc32(key.encode("utf-8")) % shards
