"""The shards read unchanged by the webdataset library, the way open_clip's loader reads them."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import webdataset as wds
from PIL import Image

from tests.shard.conftest import SAMPLES
from tests.shard.test_pipeline import index


def train_data(shard_dir) -> str:
    return json.loads((shard_dir / "manifest.json").read_text())["train_data"]


def test_open_clip_style_pipeline_gets_every_sample(shard_dir):
    pipeline = wds.DataPipeline(
        wds.SimpleShardList(train_data(shard_dir)),  # the brace pattern, expanded by webdataset
        wds.tarfile_to_samples(),
        wds.decode("pilrgb"),
        wds.to_tuple("jpg;png;jpeg;webp", "txt"),
    )
    samples = list(pipeline)
    assert len(samples) == SAMPLES
    assert all(isinstance(image, Image.Image) and image.mode == "RGB" for image, _ in samples)
    assert sorted(text for _, text in samples) == sorted(index(shard_dir).column("text").to_pylist())


def test_web_loader_with_two_workers_split_by_worker(shard_dir):
    pipeline = wds.DataPipeline(
        wds.SimpleShardList(train_data(shard_dir)),
        wds.split_by_worker,
        wds.tarfile_to_samples(),
        wds.to_tuple("__key__", "json"),
    )
    loader = wds.WebLoader(pipeline, batch_size=None, num_workers=2)
    seen = [(key, json.loads(document)["key"]) for key, document in loader]
    assert len(seen) == SAMPLES and all(key == inside for key, inside in seen)
    assert sorted(key for key, _ in seen) == sorted(index(shard_dir).column("key").to_pylist())


def test_img2dataset_layout_tar_and_parquet_per_shard(shard_dir):
    for tar in sorted(shard_dir.glob("*.tar")):
        columns = pq.ParquetFile(tar.with_suffix(".parquet")).schema_arrow.names
        assert {"key", "url", "text", "width", "height", "sha256"} <= set(columns)
