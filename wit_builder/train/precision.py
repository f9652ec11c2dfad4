"""Numeric precision, shared by training and evaluation: which one a run uses, and the autocast
context that gives it. Its own module so that ``evaluate`` and ``trainer`` both import it
without importing each other."""

from __future__ import annotations

import contextlib

import torch

from wit_builder.errors import UsageError


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` as bf16 autocast on a GPU and fp32 on a CPU; ``amp`` (float16 with loss scaling)
    only on a GPU."""
    if precision == "auto":
        return "amp_bf16" if device.type == "cuda" else "fp32"
    if precision == "amp" and device.type != "cuda":
        raise UsageError("--precision amp (float16 with loss scaling) needs a GPU; use amp_bf16 or fp32")
    return precision


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The context a forward pass runs in for ``precision``."""
    if precision == "amp_bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    if precision == "amp":
        return torch.autocast(device.type, dtype=torch.float16)
    return contextlib.nullcontext()
