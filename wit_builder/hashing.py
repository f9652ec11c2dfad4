"""Stable hashes shared by the stages (Python's ``hash`` of a str is salted per process)."""

from __future__ import annotations

import hashlib
import zlib

import numpy as np
import pyarrow as pa


def shard_of(key: str, shards: int) -> int:
    """A shard number for ``key`` that is the same in every process, on every machine."""
    return zlib.crc32(key.encode("utf-8")) % shards


def hash64(text: str) -> int:
    """BLAKE2b with an 8-byte digest (`digest_size=8`, not the first 8 bytes of the 64-byte one) of
    the UTF-8 text, as an unsigned big-endian integer."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def hash64_array(texts: pa.Array | list[str]) -> np.ndarray:
    """``hash64`` of every string, as uint64: one digest per string and one join, without a
    Python int per string (a third faster on the balance's hot path)."""
    if isinstance(texts, (pa.Array, pa.ChunkedArray)):
        raw = texts.cast(pa.binary()).to_pylist()
    else:
        raw = [text.encode("utf-8") for text in texts]
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(item, digest_size=8).digest() for item in raw])
    return np.frombuffer(digests, ">u8").astype(np.uint64)
