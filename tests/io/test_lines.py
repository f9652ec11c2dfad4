"""Text files read by lines the same way whatever their compression, with a bound on a line."""

from __future__ import annotations

import bz2
import gzip

import pytest

from wit_builder.io.lines import LongLine, bz2_lines, file_lines

TEXT = "".join(f"line {n} — ünïcode {'x' * (n % 97)}\n" for n in range(20_000)) + "last line without a newline"


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2"])
def test_every_compression_gives_the_same_lines(tmp_path, suffix):
    path = tmp_path / f"file.txt{suffix}"
    data = TEXT.encode("utf-8")
    path.write_bytes({"": data, ".gz": gzip.compress(data), ".bz2": bz2.compress(data)}[suffix])
    assert list(file_lines(str(path))) == TEXT.splitlines(keepends=True)


def test_bz2_lines_across_streams_and_chunks_with_long_lines():
    first = "a\nb" + "y" * 5_000  # a line over the limit, across the two streams
    second = "z" * 10 + "\n" + "w" * 999 + "\nc\n" + "v" * 1_000  # 1,000 bytes with its newline: kept
    data = bz2.compress(first.encode()) + bz2.compress(second.encode())
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]  # blocks that cut streams anywhere
    expected = ["a\n", LongLine(5_001 + 11), "w" * 999 + "\n", "c\n", LongLine(1_000)]
    assert list(bz2_lines(chunks, limit=1_000)) == expected
    assert list(bz2_lines([data], limit=1_000, piece=100)) == expected  # output in small pieces too


def test_a_bz2_bomb_is_read_in_bounded_pieces():
    bomb = bz2.compress(b"x" * (40 << 20))  # 40 MB of one line from ~100 bytes
    assert len(bomb) < 1_000
    assert list(bz2_lines([bomb], limit=1 << 20)) == [LongLine(40 << 20)]


def test_bz2_cut_short_raises_after_the_lines_before_the_cut():
    streams = [bz2.compress(f"stream {n}\n".encode()) for n in range(3)]
    data = b"".join(streams)[: -len(streams[2]) // 2]  # the third stream cut in half
    lines = []
    with pytest.raises(EOFError):
        for line in bz2_lines([data]):
            lines.append(line)
    assert lines == ["stream 0\n", "stream 1\n"]


def test_not_bz2_at_all_raises(tmp_path):
    path = tmp_path / "views.bz2"
    path.write_bytes(b"plain text, not bz2\n")
    with pytest.raises(OSError):
        list(file_lines(str(path)))
