"""A download-like folder of real JPEGs, and a shard run over it, shared by the shard tests."""

from __future__ import annotations

import pytest

from wit_builder.cli import main
from wit_builder.synthetic.sample_pool import write_sample_pool

SAMPLES, FILES, PER_SHARD = 1_200, 6, 200


@pytest.fixture(scope="session")
def download_dir(tmp_path_factory):
    return write_sample_pool(
        tmp_path_factory.mktemp("download"), SAMPLES, queries=300, files=FILES, seed=1, image_size=48, distinct=40
    )


def shard(samples, out, *flags) -> int:
    size = [] if "--shard-bytes" in flags else ["--samples-per-shard", str(PER_SHARD)]
    return main(["shard", "--samples", str(samples), "--out", str(out), *size, "--chunk-rows", "150", *flags])


@pytest.fixture(scope="session")
def shard_dir(download_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("shard")
    assert shard(download_dir, out) == 0
    return out
