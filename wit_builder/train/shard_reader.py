"""Samples out of WebDataset tars at any URL fsspec opens, damage logged and skipped.

A sample is the members that share a key (``0000030042.jpg``, ``.txt``, ``.json``). A corrupt
or truncated tar ends that shard with a warning naming the byte where it breaks; a shard that
cannot be opened is a warning too. Neither stops training, and neither can hang it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import fsspec

from wit_builder.shard.tar_format import TarDamage, iter_members

log = logging.getLogger("wit_builder.train")
IMAGE_KEYS = ("jpg", "jpeg", "png", "webp")
TEXT_KEYS = ("txt",)
READ_BLOCK = 4 << 20


@dataclass
class ReadTally:
    """What a reader saw; workers log it, tests read it."""

    shards: int = 0
    damaged_shards: int = 0
    samples: int = 0
    incomplete: int = 0
    not_regular: int = 0  # links, devices, folders: never read, never followed
    balanced_out: int = 0  # left out of this epoch by online balancing's draw
    undrawn: int = 0  # online balancing: no readable KEY.json to draw with, so kept
    members_seen: set[str] = field(default_factory=set)


def split_member_name(name: str) -> tuple[str, str]:
    """``dir/0000030042.jpg`` → (``dir/0000030042``, ``jpg``): the key is everything before the
    first dot of the file name, as WebDataset reads it."""
    folder, _, base = name.rpartition("/")
    stem, _, extension = base.partition(".")
    return (f"{folder}/{stem}" if folder else stem), extension.lower()


def iter_shard_samples(url: str, tally: ReadTally) -> Iterator[tuple[str, dict[str, bytes]]]:
    """``(key, {extension: bytes})`` for every sample of one tar, in tar order."""
    key: str | None = None
    members: dict[str, bytes] = {}
    try:
        with fsspec.open(url, "rb", block_size=READ_BLOCK) as stream:
            tally.shards += 1
            others: list = []
            for member, data in iter_members(stream, others):
                if others:
                    tally.not_regular += len(others)
                    others.clear()
                member_key, extension = split_member_name(member.name)
                if member_key != key:
                    if key is not None:
                        yield key, members
                    key, members = member_key, {}
                members[extension] = data
            tally.not_regular += len(others)
    except TarDamage as error:
        tally.damaged_shards += 1
        log.warning("skipping the rest of %s: the tar is damaged %s", url, error)
    except (OSError, ValueError) as error:
        tally.damaged_shards += 1
        log.warning("skipping %s: %s: %s", url, type(error).__name__, error)
    if key is not None:
        yield key, members


def pick(members: dict[str, bytes], names: tuple[str, ...]) -> tuple[str, bytes] | None:
    for name in names:
        if name in members:
            return name, members[name]
    return None
