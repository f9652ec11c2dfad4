"""Where a training starts: fresh from a model size and a tokenizer, or from a checkpoint.

``--resume`` names a checkpoint, a training run's folder, or ``latest`` (the newest in
``--out``; on a first start there is none and the run starts at step 0). A resumed run takes
its model, tokenizer and step from the checkpoint, and restores the optimiser, the loss
scaler, every rank's random states and each data stream's position, so it continues with
exactly the next batch when the world size and worker count are the same.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

import torch

from wit_builder.errors import UsageError
from wit_builder.tokenizer.encode import CaptionTokenizer
from wit_builder.train import checkpoints
from wit_builder.train.configs import ClipConfig, model_config
from wit_builder.train.distributed import Placement
from wit_builder.train.settings import TrainSettings

log = logging.getLogger("wit_builder.train")


@dataclass
class Start:
    """What a training starts from: the model's config and name, its tokenizer, and the
    checkpoint's state when it resumes (None when it starts fresh)."""

    config: ClipConfig
    model_name: str
    tokenizer: CaptionTokenizer
    state: dict | None


def resume_state(args: TrainSettings) -> dict | None:
    """The checkpoint ``--resume`` names, loaded on the CPU; None without ``--resume`` or when
    ``--resume latest`` finds no checkpoint yet."""
    if not args.resume:
        return None
    try:
        path = checkpoints.resolve_checkpoint(args.resume, args.out)
    except checkpoints.NoCheckpoint:
        if args.resume != "latest":
            raise
        log.info("--resume latest: no checkpoint in %s yet, starting at step 0", args.out)
        return None
    state = checkpoints.load_checkpoint(path, "cpu")
    log.info("resuming from %s (step %d)", path, state["step"])
    return state


def starting_point(args: TrainSettings) -> Start:
    state = resume_state(args)
    if state is not None:
        config = ClipConfig.from_dict(state["model_config"])
        tokenizer = CaptionTokenizer(state["tokenizer_json"], config.text_cfg.context_length)
        return Start(config, state["model_name"], tokenizer, state)
    if not args.tokenizer:
        raise UsageError("--tokenizer is required (a tokenizer.json, e.g. from `wit-builder tokenizer`)")
    config = model_config(args.model)
    tokenizer = CaptionTokenizer.from_file(args.tokenizer, config.text_cfg.context_length)
    return Start(config.with_vocab(tokenizer.vocab_size), args.model, tokenizer, None)


def restore(state: dict, model, optimizer, scaler, placement: Placement) -> int:
    """Load a checkpoint's weights, optimiser, scaler and this rank's random states; the step."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scaler is not None and "scaler" in state:
        scaler.load_state_dict(state["scaler"])
    restore_rng(state, placement)
    return int(state["step"])


def rng_state(device: torch.device) -> dict:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict, placement: Placement) -> None:
    rng = state["rng"][placement.rank] if placement.world == len(state["rng"]) else state["rng"][0]
    torch.set_rng_state(rng["torch"])
    if placement.device.type == "cuda" and "cuda" in rng:
        torch.cuda.set_rng_state(rng["cuda"], placement.device)
    random.setstate(_tuple_tree(rng["python"]))


def _tuple_tree(value):
    """``random.setstate`` wants tuples where a checkpoint may hold lists."""
    return tuple(_tuple_tree(v) for v in value) if isinstance(value, (list, tuple)) else value


def data_start(state: dict | None, placement: Placement, workers: int) -> tuple[dict, int, int]:
    """Each stream's start position and the worker rotation for this rank, from a checkpoint.
    With another world size or worker count the old positions mean nothing: the streams start
    on fresh passes (new shuffles), so such a resume is approximate."""
    if not state or "data" not in state:
        return {}, 0, 0
    data = state["data"]
    if data["world"] == placement.world and data["workers"] == workers:
        positions = {int(k): (int(v[0]), int(v[1])) for k, v in data["positions"][placement.rank].items()}
        return positions, int(data["consumed"][placement.rank]) % workers, 0
    next_pass = 1 + max((int(v[0]) for rank in data["positions"] for v in rank.values()), default=0)
    log.warning(
        "resuming with %d rank(s) x %d worker(s) instead of %d x %d: data restarts on fresh passes",
        placement.world,
        workers,
        data["world"],
        data["workers"],
    )
    return {}, 0, next_pass
