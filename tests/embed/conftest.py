"""A download-like folder of real images and an untrained tiny wit-train checkpoint, shared by
the embed and curate tests."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from wit_builder.synthetic.sample_pool import write_sample_pool
from wit_builder.tokenizer.bpe import train_clip_bpe
from wit_builder.tokenizer.encode import CaptionTokenizer
from wit_builder.train.checkpoints import save_checkpoint
from wit_builder.train.configs import model_config
from wit_builder.train.factory import create_model

SAMPLES, FILES = 300, 3


def write_checkpoint(out: Path, captions: list[str], seed: int = 0, context_length: int = 32) -> Path:
    """An untrained ``tiny`` model with a BPE learnt from ``captions``: a real checkpoint, as
    ``wit-train`` saves one, at step 0."""
    tokenizer_json = train_clip_bpe(captions, vocab_size=600, min_frequency=1).to_str()
    tokenizer = CaptionTokenizer(tokenizer_json, context_length)
    config = model_config("tiny").with_vocab(tokenizer.vocab_size, context_length)
    torch.manual_seed(seed)
    model = create_model(config, tokenizer.end_id)
    state = {
        "step": 0,
        "epoch": 0,
        "model_name": "tiny",
        "model_config": config.as_dict(),
        "tokenizer_json": tokenizer_json,
        "end_token_id": tokenizer.end_id,
        "model": model.state_dict(),
    }
    return Path(save_checkpoint(state, str(out), 0))


@pytest.fixture(scope="session")
def samples_dir(tmp_path_factory) -> Path:
    return write_sample_pool(
        tmp_path_factory.mktemp("download"), SAMPLES, queries=60, files=FILES, seed=4, image_size=48, distinct=30
    )


@pytest.fixture(scope="session")
def captions(samples_dir) -> list[str]:
    return [
        t for f in sorted((samples_dir / "samples").glob("*.parquet")) for t in pq.read_table(f)["text"].to_pylist()
    ]


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory, captions) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("model"), captions)
