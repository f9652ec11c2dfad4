"""Where each sample goes: its shard and its place in the shard, as pure functions of (seed, uid).

Every sample gets a 64-bit placement key ``H("shard" ␟ seed ␟ uid)`` (H: the first 8 bytes of
BLAKE2b, ``wit_builder.hashing.hash64``). Shard s of S holds the keys in [s·2^64/S,
(s+1)·2^64/S), in key order. So the whole data set is the samples sorted by a hash of their
uid, cut into S equal ranges of hash space: a trainer reading shard 0 sees a random mix of the
input, every runner and worker count gives the same shards, and a sample's place depends on
nothing but (seed, uid, S). Shard sizes are binomial around N/S: their relative spread is
1/sqrt(N/S), 1% at 10,000 samples a shard. The "shard" prefix keeps these keys independent of
the balance stage's keep draws, which hash (seed ␟ query).
"""

from __future__ import annotations

import math
import re

from wit_builder.hashing import hash64

_SEPARATOR = "\x1f"
SHARD_DIGITS = 6  # 000000.tar: open_clip's and img2dataset's width; more when there are more shards
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def placement_key(seed: int, uid: str) -> int:
    """The sample's 64-bit key: its shard and its order inside the shard."""
    return hash64(f"shard{_SEPARATOR}{seed}{_SEPARATOR}{uid}")


def shard_for(key: int, shards: int) -> int:
    """The shard whose range of key space holds ``key`` (exact integer arithmetic)."""
    return (key * shards) >> 64


def shard_count(samples: int, tar_bytes: float, samples_per_shard: int, shard_bytes: int | None) -> int:
    """How many shards: ``samples / samples_per_shard``, or the estimated tar bytes /
    ``shard_bytes`` when that is given; at least one when there is anything to write."""
    if samples <= 0:
        return 0
    if shard_bytes:
        return max(1, math.ceil(tar_bytes / shard_bytes))
    return max(1, math.ceil(samples / samples_per_shard))


def shard_digits(shards: int) -> int:
    return max(SHARD_DIGITS, len(str(max(shards - 1, 0))))


def shard_name(shard: int, digits: int) -> str:
    return f"{shard:0{digits}d}"


def sample_key(shard: int, index: int, digits: tuple[int, int]) -> str:
    """The sample's key in the tars: shard number and place, zero-padded (no dots, no slashes),
    unique across the data set, as img2dataset writes them."""
    return f"{shard:0{digits[0]}d}{index:0{digits[1]}d}"


def index_digits(largest_shard: int) -> int:
    return len(str(max(largest_shard - 1, 0)))


def parse_size(text: str) -> int:
    """Bytes from ``1GB``, ``500MB``, ``2GiB`` or a plain number (decimal units, ``i`` for binary)."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (e.g. 1GB, 500MB, 2GiB)")
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    letter = unit.replace("i", "").replace("b", "")
    factor = 1024 ** ("kmgt".index(letter) + 1) if "i" in unit and letter else _UNITS[letter]
    size = int(number * factor)
    if size <= 0:
        raise ValueError(f"a shard size must be positive, not {text!r}")
    return size
