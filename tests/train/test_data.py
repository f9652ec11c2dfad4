"""The data stream: splits, shuffles, exact resume, damage skipped, clear errors, any URL."""

from __future__ import annotations

import logging
import random
from itertools import islice

import pytest
import torch

from wit_builder.errors import StageFailed, UsageError
from wit_builder.shard.tar_format import iter_members
from wit_builder.train.data import StreamSpec, TrainStream, count_samples, resolve_urls
from wit_builder.train.transforms import train_crop

from .conftest import jpeg, write_numbered_shards, write_tar


def encode(texts: list[str]) -> torch.Tensor:
    return torch.tensor([[len(t)] for t in texts])


def stream(urls, batch=4, workers=1, rank=0, world=1, **options) -> TrainStream:
    start = options.pop("start", None)
    spec = StreamSpec(tuple(urls), batch, 16, rank=rank, world=world, **options)
    return TrainStream(spec, encode, train_crop, workers, start)


def keys_of(batches) -> list[str]:
    return [key for batch in batches for key in batch.keys]


def test_one_pass_over_every_stream_covers_each_sample_once(tmp_path):
    urls = write_numbered_shards(tmp_path, shards=8, per_shard=5)
    seen: list[str] = []
    for rank in range(2):
        for logical in range(2):
            seen += keys_of(islice(stream(urls, batch=5, workers=2, rank=rank, world=2).stream(logical), 2))
    assert sorted(seen) == sorted(f"{s:03d}{i:04d}" for s in range(8) for i in range(5))


def test_fewer_shards_than_streams_splits_by_sample(tmp_path):
    urls = write_numbered_shards(tmp_path, shards=1, per_shard=12)
    first = keys_of(islice(stream(urls, batch=3, rank=0, world=2).stream(0), 2))
    second = keys_of(islice(stream(urls, batch=3, rank=1, world=2).stream(0), 2))
    assert not set(first) & set(second) and len(set(first) | set(second)) == 12


def test_the_shuffle_buffer_mixes_shards_and_is_seeded(tmp_path):
    urls = write_numbered_shards(tmp_path, shards=4, per_shard=10)
    order = keys_of(islice(stream(urls, batch=10, shuffle_buffer=20).stream(0), 4))
    assert order != sorted(order)
    assert order == keys_of(islice(stream(urls, batch=10, shuffle_buffer=20).stream(0), 4))
    assert order != keys_of(islice(stream(urls, batch=10, shuffle_buffer=20, seed=1).stream(0), 4))


def test_resuming_from_a_position_continues_with_exactly_the_next_batch(tmp_path):
    urls = write_numbered_shards(tmp_path, shards=3, per_shard=7)
    whole = list(islice(stream(urls, batch=4, shuffle_buffer=8).stream(0), 12))  # more than two passes
    for cut in (1, 5, 6, 9):
        position = whole[cut - 1].position
        resumed = stream(urls, batch=4, shuffle_buffer=8, start={0: position}).stream(0)
        rest = list(islice(resumed, 12 - cut))
        assert keys_of(rest) == keys_of(whole[cut:])
        torch.testing.assert_close(rest[0].images, whole[cut].images)  # the same random crops too


def test_resampled_streams_draw_shards_with_replacement(tmp_path):
    urls = write_numbered_shards(tmp_path, shards=6, per_shard=4)
    keys = keys_of(islice(stream(urls, batch=4, resampled=True).stream(0), 30))
    shards = [key[:3] for key in keys]
    assert len(set(shards)) > 1 and len(keys) > len(set(keys))  # repeats: drawn with replacement


def test_corrupt_images_incomplete_samples_and_truncated_tars_are_skipped_and_logged(tmp_path, caplog):
    good = jpeg((10, 200, 10))
    samples = [{"__key__": f"k{i}".encode(), "jpg": good, "txt": b"fine"} for i in range(6)]
    samples[1]["jpg"] = b"not an image"
    samples[2] = {"__key__": b"k2", "txt": b"no picture"}
    ok = write_tar(tmp_path / "a.tar", samples)
    cut = write_tar(tmp_path / "b.tar", [{"__key__": f"t{i}".encode(), "jpg": good, "txt": b"x"} for i in range(4)])
    with open(cut, "rb") as handle:
        last = [m for m, _ in iter_members(handle)][-1]
    cut.write_bytes(cut.read_bytes()[: last.offset + 100])  # truncated in the last caption's header
    with caplog.at_level(logging.WARNING, logger="wit_builder.train"):
        keys = keys_of(islice(stream([str(ok), str(cut)], batch=1, shuffle_buffer=1).stream(0), 7))
    assert sorted(keys) == ["k0", "k3", "k4", "k5", "t0", "t1", "t2"]
    messages = caplog.text
    assert "skipping sample k1" in messages and "damaged" in messages and "b.tar" in messages


def test_shards_without_the_expected_keys_are_a_clear_error_not_a_hang(tmp_path):
    path = write_tar(tmp_path / "cls.tar", [{"__key__": b"a", "png": jpeg((1, 2, 3)), "cls": b"3"}])
    with pytest.raises(StageFailed, match=r"no sample with an image .* and a caption .*member types seen: cls, png"):
        next(iter(stream([str(path)]).stream(0)))
    (tmp_path / "junk.tar").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(StageFailed, match="1 unreadable"):
        next(iter(stream([str(tmp_path / "junk.tar")]).stream(0)))


def test_undecodable_images_everywhere_are_a_clear_error(tmp_path):
    path = write_tar(tmp_path / "bad.tar", [{"__key__": b"a", "jpg": b"nope", "txt": b"x"}])
    with pytest.raises(StageFailed, match="could be decoded"):
        next(iter(stream([str(path)]).stream(0)))


def test_urls_in_every_form_and_sample_counts(tmp_path):
    write_numbered_shards(tmp_path / "a", shards=3, per_shard=5)
    write_numbered_shards(tmp_path / "b", shards=2, per_shard=4)
    spec = f"{tmp_path}/a/{{000000..000002}}.tar::file://{tmp_path}/b/{{000000..000001}}.tar"
    urls = resolve_urls(spec)
    assert len(urls) == 5 and urls[-1].startswith("file://")
    assert count_samples(urls) == 3 * 5 + 2 * 4
    assert count_samples((f"{tmp_path}/elsewhere/x.tar",)) is None
    batch = next(iter(stream(urls[-2:], batch=8).stream(0)))  # read through fsspec's file:// protocol
    assert batch.images.shape == (8, 3, 16, 16) and batch.tokens.shape == (8, 1)
    with pytest.raises(UsageError, match="no shard URL"):
        resolve_urls(" :: ")


def test_http_shards_stream_through_fsspec(tmp_path):
    import http.server
    import threading
    from functools import partial

    write_numbered_shards(tmp_path, shards=2, per_shard=3)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{{000000..000001}}.tar"
        keys = keys_of(islice(stream(resolve_urls(url), batch=3).stream(0), 2))
        assert sorted(keys) == sorted(f"{s:03d}{i:04d}" for s in range(2) for i in range(3))
    finally:
        server.shutdown()
    random.seed(0)
