"""Photo-like shards: real JPEGs of web-photo weight and shapes, every sample a jpg, the shard
stage's KEY.json and a txt, spread evenly over the shards, the same bytes from the same seed."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from photo_shards import caption_matches, photo_jpegs, shard_captions, write_photo_shards
from PIL import Image


def test_pictures_have_web_photo_weight_and_shapes():
    pictures = photo_jpegs(4, 256)
    sizes = [Image.open(io.BytesIO(p)).size for p in pictures]
    assert sizes == [(256, 256), (341, 256), (256, 341), (256, 256)]
    assert all(Image.open(io.BytesIO(p)).format == "JPEG" for p in pictures)
    assert 20_000 < sum(map(len, pictures)) / len(pictures) < 60_000  # ~33 KB a 256 px photo at quality 95


def test_shards_hold_every_sample_once_with_its_caption(tmp_path):
    urls = write_photo_shards(tmp_path, samples=10, shards=3, stored_size=64)
    assert [u.rsplit("/", 1)[1] for u in urls] == ["000000.tar", "000001.tar", "000002.tar"]
    names = []
    for url in urls:
        with tarfile.open(url) as tar:
            names += tar.getnames()
    keys = sorted({n.split(".")[0] for n in names})
    assert keys == [f"{i:09d}" for i in range(10)] and len(names) == 30
    with tarfile.open(urls[0]) as tar:
        document = json.load(tar.extractfile(f"{0:09d}.json"))
        caption = tar.extractfile(f"{0:09d}.txt").read().decode()
    assert document["caption"] == caption and document["matches"] == caption_matches(caption)
    assert 600 < len(json.dumps(document)) < 2_000  # about the shard stage's 1 KB
    captions = shard_captions(urls)
    assert len(captions) == 10 and all(8 <= len(c.split()) <= 20 for c in captions)
    (tmp_path / "again").mkdir()
    again = write_photo_shards(tmp_path / "again", samples=10, shards=3, stored_size=64)
    assert [Path(a).read_bytes() for a in again] == [Path(u).read_bytes() for u in urls]
