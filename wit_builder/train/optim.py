"""AdamW with CLIP's weight-decay rule, and a cosine schedule with linear warm-up.

No weight decay on gains and biases (every tensor of fewer than two dimensions), on the
embeddings (token, positional, class) or on the temperature; decay on every weight matrix.
The schedule is a pure function of the step, so resuming needs no scheduler state.
"""

from __future__ import annotations

import math

import torch
from torch import nn

NO_DECAY_NAMES = ("embedding", "logit_scale")


def decays(name: str, parameter: torch.Tensor) -> bool:
    return parameter.ndim >= 2 and not any(part in name for part in NO_DECAY_NAMES)


def build_optimizer(model: nn.Module, lr: float, wd: float, betas: tuple[float, float], eps: float, fused: bool):
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in named if decays(n, p)], "weight_decay": wd},
        {"params": [p for n, p in named if not decays(n, p)], "weight_decay": 0.0},
    ]
    options = {"fused": True} if fused else {}
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, **options)


def cosine_lr(step: int, base_lr: float, warmup: int, total: int) -> float:
    """Linear warm-up to ``base_lr`` over ``warmup`` steps, then a cosine down to 0 at ``total``."""
    if step < warmup:
        return base_lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress))) * base_lr


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
