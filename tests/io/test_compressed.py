"""Gzip members and bz2 streams read past damage: every member but the damaged one comes back."""

from __future__ import annotations

import bz2
import gzip
import random

import pytest

from wit_builder.io.compressed import Damaged, MemberEnd, MemberStream, resynced, whole_members


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xA5]) + data[at + 1 :]


@pytest.fixture(scope="module")
def members() -> list[bytes]:
    rng = random.Random(7)
    return [f"record {i} {rng.random()} ".encode() * rng.randint(1, 400) for i in range(120)]


@pytest.mark.parametrize("size", [7, 4096, 1 << 20])
def test_whole_members_come_back_in_any_reading_size(members, size):
    data = b"".join(gzip.compress(m, mtime=0) for m in members)
    assert list(whole_members(pieces(data, size), "gzip", 1 << 20)) == members


@pytest.mark.parametrize("kind", ["gzip", "bz2"])
@pytest.mark.parametrize("size", [13, 65536])
def test_random_damage_costs_only_the_member_it_hits(members, kind, size):
    """A byte flipped anywhere in one member, a hundred times over: every other member is read,
    and the damage is reported at that member's first byte."""
    compress = (lambda m: gzip.compress(m, mtime=0)) if kind == "gzip" else bz2.compress
    packed = [compress(m) for m in members]
    starts = [sum(len(p) for p in packed[:i]) for i in range(len(packed))]
    data = b"".join(packed)
    rng = random.Random(size)
    for _ in range(100):
        which = rng.randrange(len(packed))
        damaged = flip(data, starts[which] + rng.randrange(len(packed[which])))
        got = list(whole_members(pieces(damaged, size), kind, 1 << 20))
        read = [item for item in got if isinstance(item, bytes)]
        faults = [item for item in got if isinstance(item, Damaged)]
        if read == members:  # the flip landed where no check sees it (a gzip header's flags, say)
            continue
        assert read == members[:which] + members[which + 1 :], which
        assert faults and faults[0].offset == starts[which]
        # Only the last member can look cut off (a flag bit announcing a name that runs to the end).
        assert not faults[0].cut_short or which == len(packed) - 1


def test_junk_between_members_and_after_the_last_is_skipped(members):
    packed = [gzip.compress(m, mtime=0) for m in members[:10]]
    data = b"".join(packed[:4]) + b"junk that is not gzip " * 50 + b"".join(packed[4:]) + b"\0" * 100
    got = list(whole_members(pieces(data, 100), "gzip", 1 << 20))
    assert [item for item in got if isinstance(item, bytes)] == members[:10]
    assert [item.offset for item in got if isinstance(item, Damaged)] == [
        sum(len(p) for p in packed[:4]),
        sum(len(p) for p in packed) + len(b"junk that is not gzip ") * 50,
    ]


def test_data_ending_inside_a_member_is_cut_short(members):
    data = b"".join(gzip.compress(m, mtime=0) for m in members[:5])
    got = list(whole_members(pieces(data[:-10], 64), "gzip", 1 << 20))
    assert got[:4] == members[:4] and got[4].cut_short


def test_a_member_over_the_limit_is_never_held_whole():
    bomb = gzip.compress(b"\0" * (8 << 20), mtime=0)  # 8 MiB from a few KB
    small = gzip.compress(b"fine", mtime=0)
    sizes = []
    for item in resynced(pieces(bomb + small, 1 << 16), "gzip", piece=1 << 16):
        if isinstance(item, bytes):
            sizes.append(len(item))
    assert max(sizes) <= 1 << 16
    got = list(whole_members([bomb + small], "gzip", 1 << 20))
    assert got[0].too_large and got[0].offset == 0 and got[1] == b"fine"


def test_members_at_or_before_after_are_left_out(members):
    packed = [gzip.compress(m, mtime=0) for m in members[:6]]
    third = sum(len(p) for p in packed[:2])
    assert list(whole_members([b"".join(packed)], "gzip", 1 << 20, after=third)) == members[3:6]


def test_bz2_streams_end_with_their_offsets():
    streams = [bz2.compress(f"stream {i}\n".encode()) for i in range(3)]
    ends = [
        item.offset for item in resynced(pieces(b"".join(streams), 5), "bz2", start=100) if isinstance(item, MemberEnd)
    ]
    assert ends == [100, 100 + len(streams[0]), 100 + len(streams[0]) + len(streams[1])]


def test_the_member_stream_reads_members_back_to_back_and_keeps_the_damage(members):
    packed = [gzip.compress(m, mtime=0) for m in members[:5]]
    data = b"".join(packed)
    stream = MemberStream(whole_members([flip(data, len(packed[0]) + len(packed[1]) // 2)], "gzip", 1 << 20))
    assert stream.read() == b"".join([members[0], *members[2:5]]) and len(stream.damaged) == 1
