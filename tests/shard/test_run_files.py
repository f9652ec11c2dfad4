"""Run files and the shard writer's pieces: image bytes as views, never lost when a window moves."""

from __future__ import annotations

import hashlib
import io

import pyarrow as pa

from tests.shard.conftest import shard
from tests.shard.test_pipeline import tars
from wit_builder.shard.records import decode_record, encode_record
from wit_builder.shard.scatter import binary_views
from wit_builder.shard.writer import HashingFile


def test_binary_views_are_the_values_without_copies():
    first = pa.array([b"abc", None, b"", b"de"], pa.binary())
    second = pa.array([b"zz", b"0123456789", None], pa.binary()).slice(1)  # an offset into its buffers
    views = binary_views(pa.chunked_array([first, second]))
    assert [None if view is None else bytes(view) for view in views] == [b"abc", None, b"", b"de", b"0123456789", None]
    assert all(isinstance(view, memoryview) for view in views if view is not None)
    assert binary_views(pa.chunked_array([pa.array([b"", b""], pa.binary())])) == [b"", b""]


def test_a_record_round_trips_and_its_image_stays_a_view():
    meta = {"uid": "u1", "text": "ein Bild — 画像", "matches": ["bild"]}
    head, image = encode_record(7, meta, memoryview(b"\xff\xd8jpeg bytes"))
    record = memoryview(head + bytes(image))
    key, decoded, view = decode_record(record)
    assert (key, decoded, bytes(view)) == (7, meta, b"\xff\xd8jpeg bytes")
    assert isinstance(view, memoryview)


def test_hashing_file_writes_and_hashes_everything_in_order():
    pieces = [bytes([n % 251]) * (n * 997 % 70_000) for n in range(200)]
    sink = io.BytesIO()
    with HashingFile(sink, block=100_000) as out:
        for number in range(0, 200, 3):
            out.write(*pieces[number : number + 3])
            assert out.written == sum(map(len, pieces[: number + 3]))
            assert len(sink.getvalue()) == out.size <= out.written
    whole = b"".join(pieces)
    assert sink.getvalue() == whole
    assert (out.size, out.hexdigest()) == (len(whole), hashlib.sha256(whole).hexdigest())


def test_hashing_file_after_an_error_writes_nothing_more_and_stops_its_thread():
    sink = io.BytesIO()
    try:
        with HashingFile(sink, block=10) as out:
            out.write(b"0123456789ab")
            out.write(b"pend")
            raise RuntimeError("a sample could not be read")
    except RuntimeError:
        pass
    assert sink.getvalue() == b"0123456789ab"
    assert out._hasher._shutdown


def test_a_small_read_budget_writes_the_same_bytes(shard_dir, download_dir, tmp_path):
    """64 KiB across a shard's segments: windows of a few records, replaced while the writer's
    pending block still holds views into them (it writes that block first)."""
    out = tmp_path / "small"
    assert shard(download_dir, out, "--read-budget", "64KiB") == 0
    assert tars(out) == tars(shard_dir)
