"""Several captions for one image (harvest --max-captions): the shard stage keeps them in the
index and KEY.json, and the data stream gives one per epoch, drawn by (seed, epoch, uid)."""

from __future__ import annotations

import json
import tarfile
from itertools import islice

import pyarrow.parquet as pq
import pytest

from wit_builder.cli import main
from wit_builder.hashing import hash64
from wit_builder.synthetic.sample_pool import write_sample_pool
from wit_builder.train.data import StreamSpec, TrainStream, resolve_urls
from wit_builder.train.transforms import train_crop


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("captions")
    samples = write_sample_pool(root / "download", 120, queries=40, files=2, seed=2, image_size=24, distinct=4,
                                captions=3)  # fmt: skip
    assert main(["shard", "--samples", str(samples), "--out", str(root / "shard"), "--samples-per-shard", "40"]) == 0
    return root / "shard"


def test_the_shards_keep_every_caption(shards):
    rows = [row for path in sorted(shards.glob("*.parquet")) for row in pq.read_table(path).to_pylist()]
    several = [row for row in rows if row["captions"]]
    assert len(several) == 60 and all(row["captions"][0] == row["text"] and len(row["captions"]) == 3
                                      for row in several)  # fmt: skip
    with tarfile.open(shards / "000000.tar") as tar:
        documents = [json.load(tar.extractfile(m)) for m in tar if m.name.endswith(".json")]
    assert any("captions" in d for d in documents) and any("captions" not in d for d in documents)
    assert main(["verify", str(shards)]) == 0


def texts_by_pass(urls, captions: bool, world: int = 1, passes: int = 3) -> dict[tuple[int, str], str]:
    """(pass, key) -> the text the stream gave, over every stream of ``world`` ranks."""
    seen: dict[tuple[int, str], str] = {}
    for rank in range(world):
        texts: list[str] = []

        def encode(batch: list[str], texts: list[str] = texts) -> list[list[int]]:
            texts.extend(batch)
            return [[0]]

        spec = StreamSpec(tuple(urls), 1, 16, seed=5, rank=rank, world=world, shuffle_buffer=0, captions=captions)
        stream = TrainStream(spec, encode, train_crop, 1)
        for batch in islice(stream.stream(0), 10_000):
            if batch.position[0] >= passes:
                break
            seen[(batch.position[0], batch.keys[0])] = texts[-1]
    return seen


def test_each_epoch_draws_one_caption_by_seed_epoch_and_uid(shards):
    urls = resolve_urls(str(shards))
    rows = {row["key"]: row for path in sorted(shards.glob("*.parquet")) for row in pq.read_table(path).to_pylist()}
    drawn = texts_by_pass(urls, captions=True)
    assert len(drawn) == 3 * len(rows)
    for (epoch, key), text in drawn.items():
        row = rows[key]
        if row["captions"]:
            index = hash64(f"caption\x1f5\x1f{epoch}\x1f{row['uid']}") % 3
            assert text == row["captions"][index]
        else:
            assert text == row["text"]
    varied = [key for key in rows if rows[key]["captions"] and len({drawn[(e, key)] for e in range(3)}) > 1]
    assert len(varied) > 30  # most images are seen with another caption in another epoch
    assert texts_by_pass(urls, captions=True, world=2) == drawn  # the same on two ranks
    assert set(texts_by_pass(urls, captions=False).values()) == {row["text"] for row in rows.values()}
