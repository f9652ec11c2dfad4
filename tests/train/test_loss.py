"""The contrastive loss: symmetric, and under DDP exactly the loss and gradients of the global batch."""

from __future__ import annotations

import math
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from wit_builder.train.configs import ClipConfig, TextConfig, VisionConfig
from wit_builder.train.factory import create_model
from wit_builder.train.loss import ClipLoss
from wit_builder.train.model import CLIP

SMALL = ClipConfig(
    16,
    VisionConfig(image_size=16, layers=1, width=32, patch_size=8, head_width=16),
    TextConfig(context_length=8, vocab_size=50, width=32, heads=2, layers=1),
)
BATCH = 4  # per rank


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    pixels = torch.randn(2 * BATCH, 3, 16, 16, generator=generator)
    tokens = torch.randint(1, 40, (2 * BATCH, 8), generator=generator)
    tokens[:, 5] = 49
    return pixels, tokens


def _model() -> CLIP:
    torch.manual_seed(0)
    return create_model(SMALL)


def test_perfect_alignment_gives_a_low_loss_and_shuffled_a_high_one():
    features = torch.nn.functional.normalize(torch.randn(8, 16), dim=-1)
    aligned = ClipLoss()(features, features, torch.tensor(100.0))
    shuffled = ClipLoss()(features, features.roll(1, 0), torch.tensor(100.0))
    assert aligned < 0.01 < math.log(8) < shuffled


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank: int, port: int, local_loss: bool, gather_with_grad: bool, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    torch.set_num_threads(1)
    model = DistributedDataParallel(_model())
    pixels, tokens = _inputs()
    part = slice(rank * BATCH, (rank + 1) * BATCH)
    images, texts, scale = model(pixels[part], tokens[part])
    loss = ClipLoss(local_loss, gather_with_grad)(images, texts, scale)
    loss.backward()
    losses = [torch.zeros(()) for _ in range(2)]
    dist.all_gather(losses, loss.detach())
    if rank == 0:
        grads = {name: p.grad for name, p in model.module.named_parameters()}
        torch.save({"loss": torch.stack(losses).mean(), "grads": grads}, out)
    # Both ranks leave together, and without tearing gloo down: its teardown can abort a rank
    # ("terminate called without an active exception", seen in CI after a barrier too). The
    # result is on disk (torch.save has closed the file), so the process ends here, skipping
    # the C++ destructors.
    dist.barrier()
    os._exit(0)


@pytest.mark.slow  # two gloo processes
@pytest.mark.parametrize("local_loss", [True, False])
def test_two_ranks_of_b_equal_one_rank_of_2b(tmp_path, local_loss):
    model = _model()
    pixels, tokens = _inputs()
    images, texts, scale = model(pixels, tokens)
    loss = ClipLoss()(images, texts, scale)
    loss.backward()
    out = str(tmp_path / "ranks.pt")
    mp.spawn(_rank_main, args=(_free_port(), local_loss, True, out), nprocs=2, join=True)
    ranks = torch.load(out, weights_only=True)
    torch.testing.assert_close(ranks["loss"], loss.detach(), atol=1e-6, rtol=1e-5)
    for name, parameter in model.named_parameters():
        torch.testing.assert_close(
            ranks["grads"][name], parameter.grad, atol=1e-5, rtol=1e-4, msg=lambda m, name=name: f"{name}: {m}"
        )
