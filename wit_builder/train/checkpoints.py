"""Checkpoints: written atomically, found from a file or a run folder, loaded with weights_only.

``OUT/checkpoints/step_00001000.pt`` every N steps and at the end, and ``latest.pt`` beside
them, always the newest. Each is written to ``NAME.partial`` and renamed, so a kill mid-write
leaves the previous checkpoint intact. A checkpoint holds only tensors, numbers, strings and
containers of them, so ``torch.load(..., weights_only=True)`` reads it: loading a checkpoint
cannot run code.
"""

from __future__ import annotations

import io

import fsspec
import torch

from wit_builder.atomic import write_atomically
from wit_builder.errors import StageFailed, UsageError

FORMAT = "wit-train/1"
LATEST = "latest.pt"


def checkpoint_dir(out: str) -> str:
    return f"{out.rstrip('/')}/checkpoints"


def step_name(step: int) -> str:
    return f"step_{step:08d}.pt"


def save_checkpoint(state: dict, out: str, step: int, keep_previous: bool = True) -> str:
    """Write ``step_N.pt`` and ``latest.pt``; with ``keep_previous=False`` remove older steps."""
    folder = checkpoint_dir(out)
    filesystem, _ = fsspec.core.url_to_fs(folder)
    filesystem.makedirs(folder, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buffer)
    payload = buffer.getvalue()
    path = f"{folder}/{step_name(step)}"
    write_atomically(path, payload)
    write_atomically(f"{folder}/{LATEST}", payload)
    if not keep_previous:
        for older in filesystem.glob(f"{folder}/step_*.pt"):
            if not older.endswith(step_name(step)):
                filesystem.rm(older)
    return path


class NoCheckpoint(UsageError):
    """No checkpoint where one was named (``--resume latest`` on a first start is not an error)."""


def resolve_checkpoint(spec: str, out: str | None = None) -> str:
    """``latest`` (in ``out``), a checkpoint file, or a training run's folder (its latest)."""
    if spec == "latest":
        if out is None:
            raise UsageError("--resume latest needs --out")
        spec = out
    filesystem, _ = fsspec.core.url_to_fs(spec)
    if filesystem.isdir(spec):
        for candidate in (f"{checkpoint_dir(spec)}/{LATEST}", f"{spec.rstrip('/')}/{LATEST}"):
            if filesystem.exists(candidate):
                return candidate
        raise NoCheckpoint(f"no checkpoint in {spec} (looked for checkpoints/{LATEST})")
    if not filesystem.exists(spec):
        raise NoCheckpoint(f"no checkpoint at {spec}")
    return spec


def load_checkpoint(path: str, map_location: str | torch.device = "cpu") -> dict:
    with fsspec.open(path, "rb") as handle:
        payload = handle.read()
    try:
        state = torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)
    except Exception as error:
        raise StageFailed(f"{path} is not a readable checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise UsageError(f"{path} is not a wit-train checkpoint (format {found!r})")
    return state
