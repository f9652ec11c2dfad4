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
