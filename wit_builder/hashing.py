"""Stable hashes shared by the stages (Python's ``hash`` of a str is salted per process)."""

from __future__ import annotations

import hashlib
import zlib


def shard_of(key: str, shards: int) -> int:
    """A shard number for ``key`` that is the same in every process, on every machine."""
    return zlib.crc32(key.encode("utf-8")) % shards


def hash64(text: str) -> int:
    """First 8 bytes of BLAKE2b of the UTF-8 text, as an unsigned big-endian integer."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")
