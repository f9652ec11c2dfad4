"""torchrun's environment: rank, world size, device; NCCL on GPUs, gloo on CPUs."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Placement:
    rank: int
    local_rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed() -> Placement:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1), else run alone.
    On CPU each process gets its share of the cores, so two ranks on two cores do not fight."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, local_world)))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Placement(rank, local_rank, world, device)


def all_gather_objects(value: object, placement: Placement) -> list[object]:
    if placement.world == 1:
        return [value]
    gathered: list[object] = [None] * placement.world
    dist.all_gather_object(gathered, value)
    return gathered


def barrier(placement: Placement) -> None:
    if placement.world > 1:
        dist.barrier()


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
