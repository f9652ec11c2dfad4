"""Hostile shards, URL patterns and report inputs: each is named in one line and costs itself;
none ends a check, a training or a report with an error that names nothing."""

from __future__ import annotations

import json
import shutil
import tarfile
import time

import pytest
from braceexpand import braceexpand

from wit_builder.cli import main
from wit_builder.io.shard_urls import MAX_SHARDS, expand_urls, expansion_size
from wit_builder.shard.tar_format import BLOCK, end_of_archive, member
from wit_builder.train.shard_reader import ReadTally, iter_shard_samples

TERABYTE = 2**40


@pytest.fixture
def copy(shard_dir, tmp_path):
    target = tmp_path / "set"
    shutil.copytree(shard_dir, target, ignore=shutil.ignore_patterns("work", "report"))
    return target


def header_declaring(name: str, size: int) -> bytes:
    """A tar header for ``name`` declaring ``size`` bytes (GNU base-256 for sizes ustar cannot hold)."""
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(tarfile.GNU_FORMAT, "utf-8", "strict")


def tar_of(pieces: list[bytes]) -> bytes:
    data = b"".join(pieces)
    return data + end_of_archive(len(data))


def test_a_member_declaring_a_terabyte_is_named_and_the_other_shards_are_checked(copy, capsys):
    first = b"".join(member("000001000000.txt", b"a red circle"))
    (copy / "000001.tar").write_bytes(first + header_declaring("000001000000.jpg", TERABYTE) + bytes(BLOCK * 4))
    assert main(["verify", str(copy), "--json"]) == 1
    errors = json.loads(capsys.readouterr().out)["errors"]
    damaged = [e["error"] for e in errors if e["shard"].endswith("000001.tar")]
    assert any(f"declares {TERABYTE:,} bytes" in error for error in damaged), damaged
    assert not [e for e in errors if e["shard"] and not e["shard"].endswith("000001.tar")]  # the rest pass


def test_the_trainer_skips_a_shard_with_a_member_declaring_a_terabyte(tmp_path, caplog):
    tar = tmp_path / "000000.tar"
    good = [*member("a.txt", b"red"), *member("a.jpg", b"\xff\xd8")]
    tar.write_bytes(b"".join(good) + header_declaring("b.jpg", TERABYTE) + bytes(BLOCK * 4))
    tally = ReadTally()
    samples = list(iter_shard_samples(str(tar), tally))
    assert [key for key, _ in samples] == ["a"] and tally.damaged_shards == 1
    assert "declares" in caplog.text


def test_member_names_that_climb_out_or_are_absolute_are_flagged(copy, capsys):
    pieces = [*member("../000009000000.txt", b"x"), *member("/etc/000009000000.jpg", b"x")]
    (copy / "000009.tar").write_bytes(tar_of(pieces))
    assert main(["verify", str(copy / "000009.tar"), "--json"]) == 1
    errors = " ".join(e["error"] for e in json.loads(capsys.readouterr().out)["errors"])
    assert "'../000009000000.txt'" in errors and "climbs out of the folder" in errors
    assert "'/etc/000009000000.jpg'" in errors and "absolute path" in errors


@pytest.mark.parametrize(
    "pattern",
    ["a/{000..009}.tar", "{0..10..2}", "x{a,b{1..3}}y{c..f}", "{a}", "plain.tar", "{1..3}{1..4}", "{-2..2}",
     "{9..1}", "s/{00..99}/{a,b,c}.tar", "\\{1..3\\}"],
)  # fmt: skip
def test_expansion_size_counts_what_braceexpand_makes(pattern):
    assert expansion_size(pattern) == len(list(braceexpand(pattern)))


def test_an_absurd_brace_pattern_is_refused_up_front(capsys):
    started = time.monotonic()
    assert main(["verify", "x/{000000000..099999999}.tar"]) == 2
    assert time.monotonic() - started < 5  # counted, not expanded
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "100,000,000 shard URLs" in err and f"{MAX_SHARDS:,}" in err
    assert len(expand_urls("a/{000..099}.tar::b/{0..4}.tar")) == 105


def test_a_corrupt_stats_json_is_named_by_report(shard_dir, tmp_path, capsys):
    balance = tmp_path / "balance"
    (balance / "report").mkdir(parents=True)
    shutil.copy(shard_dir / "report" / "balance.parquet", balance / "report")
    (balance / "stats.json").write_text('{"pairs_in": 12, "kept": ')  # cut short
    assert main(["report", str(balance)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and f"{balance}/stats.json: not JSON" in err


# --- malformed headers and entries that are not files: one line with the byte, never a hang ------


def with_checksum(header: bytearray) -> bytes:
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def pax_entry(records: bytes) -> list[bytes]:
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = len(records)
    return [info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict"), records, bytes(-len(records) % BLOCK)]


def negative_size_header(name: str) -> bytes:
    """A header whose size field is GNU base-256 for -1 (a sign bit and all ones)."""
    header = bytearray(b"".join(member(name, b""))[:BLOCK])
    header[124:136] = b"\xff" * 12
    return with_checksum(header)


def special_entry(name: str, kind: bytes, link: str = "") -> bytes:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")


GOOD = [*member("000009000000.txt", b"a red circle"), *member("000009000000.jpg", b"\xff\xd8\xff")]
HOSTILE = {
    "pax length 0": ([*pax_entry(b"0 path=x\n")], "a pax record of length 0 does not fit"),
    "pax length negative": ([*pax_entry(b"-12 path=x\n")], "a pax record's length b'-12' is not a number"),
    "pax length not a number": ([*pax_entry(b"abc path=x\n")], "a pax record's length b'abc' is not a number"),
    "pax length past the header": ([*pax_entry(b"999 path=x\n")], "a pax record of length 999 does not fit"),
    "pax size not a number": ([*pax_entry(b"12 size=-40\n"), *member("000009000001.jpg", b"x")], "the pax size of"),
    "negative base-256 size": ([negative_size_header("000009000001.jpg")], "declares a negative size (-1 bytes)"),
    "symbolic link": ([special_entry("000009000001.jpg", tarfile.SYMTYPE, "/etc/passwd")],
                      "is a symbolic link to '/etc/passwd', not a regular file"),
    "hard link": ([special_entry("000009000001.txt", tarfile.LNKTYPE, "000009000000.txt")],
                  "is a hard link to '000009000000.txt', not a regular file"),
    "character device": ([special_entry("000009000001.jpg", tarfile.CHRTYPE)], "is a character device"),
    "block device": ([special_entry("000009000001.jpg", tarfile.BLKTYPE)], "is a block device"),
    "fifo": ([special_entry("000009000001.jpg", tarfile.FIFOTYPE)], "is a FIFO"),
    "folder": ([special_entry("000009000001", tarfile.DIRTYPE)], "is a folder"),
}  # fmt: skip


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_header_or_entry_is_named_at_its_byte_and_every_other_shard_is_checked(case, copy, capsys):
    pieces, message = HOSTILE[case]
    (copy / "000000.tar").write_bytes(tar_of([*GOOD, *pieces, *GOOD]))  # a set's first shard, and later ones
    assert main(["verify", str(copy), "--json"]) == 1
    errors = json.loads(capsys.readouterr().out)["errors"]
    named = [e["error"] for e in errors if e["shard"] and e["shard"].endswith("000000.tar")]
    at = len(b"".join(GOOD))  # the hostile entry's header, or its pax data one block later
    places = [f"at byte {at + k * BLOCK:,}" for k in range(3)]  # its header, its pax data, the member it sizes
    assert any(message in error and any(place in error for place in places) for error in named), named
    others = {e["shard"].rsplit("/", 1)[-1] for e in errors if e["shard"]}
    assert others == {"000000.tar"}  # the other shards were checked, and passed
    assert main(["verify", str(copy / "000000.tar")]) == 1  # without --json: one line on stderr
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "000000.tar" in err and "Traceback" not in err


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_the_trainer_never_hangs_on_a_hostile_header_and_never_reads_a_link(case, tmp_path):
    pieces, _ = HOSTILE[case]
    tar = tmp_path / "000000.tar"
    tar.write_bytes(tar_of([*GOOD, *pieces, *member("000009000002.txt", b"x"), *member("000009000002.jpg", b"y")]))
    tally = ReadTally()
    samples = dict(iter_shard_samples(str(tar), tally))
    assert "000009000000" in samples and "000009000001" not in samples
    if "pax" in case or "size" in case:  # damage: the rest of the shard is skipped
        assert tally.damaged_shards == 1
    else:  # an entry that is not a file: skipped alone, the next sample read
        assert tally.damaged_shards == 0 and tally.not_regular == 1 and "000009000002" in samples
