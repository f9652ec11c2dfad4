"""Where a training step's time goes, from a ``torch.profiler`` run, in a table a person reads.

``key_averages().table()`` lists a hundred kernels with names like
``sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64...``; what a trainer's owner asks is
"how much is matrix products, how much attention, how much the optimiser, and is the GPU idle?".
Each operator (on a GPU: each kernel, timed on the device; on a CPU: each ``aten::`` operator's
self time) goes to the first category whose pattern its name matches, and the table gives each
category's time per step and share, plus how busy the device was over the profiled wall time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from torch.autograd import DeviceType

# First match wins. Attention kernels are matrix products too; Triton's GEMM templates
# (``triton_tem_``) are matrix products, its other kernels element-wise work the compiler fused.
CATEGORIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("attention (SDPA)", re.compile(r"flash|fmha|attention|sdpa")),
    (
        "matrix products (GEMM)",
        re.compile(r"^triton_tem_|gemm|xmma|nvjet|cutlass|cublas|wgmma|^aten::(addmm|mm|bmm|matmul|\w*convolution)$"),
    ),
    ("fused by torch.compile (Triton)", re.compile(r"^triton_")),
    ("layer norm", re.compile(r"layer_?norm")),
    ("optimiser and clipping", re.compile(r"adam|multi_tensor|foreach|clamp")),
    ("softmax and cross-entropy", re.compile(r"softmax|nll_loss|cross_entropy")),
    ("copies and casts", re.compile(r"memcpy|memset|copy|^aten::(cat|fill_|zero_)$|to_copy")),
)
OTHER = "other element-wise"


@dataclass(frozen=True)
class Share:
    category: str
    ms_per_step: float
    share: float  # of the categorised time
    operators: int  # distinct kernels or operators in it


def category_of(name: str) -> str:
    lowered = name.lower()
    for category, pattern in CATEGORIES:
        if pattern.search(lowered):
            return category
    return OTHER


def timed_operators(averages: Iterable, on_device: bool) -> list[tuple[str, float]]:
    """(name, microseconds) of each leaf of the step's time: the device's kernels on a GPU, the
    ``aten::`` operators' self CPU time on a CPU (nested operators are not counted twice)."""
    timed = []
    for entry in averages:
        if on_device:
            if entry.device_type != DeviceType.CPU and entry.self_device_time_total > 0:
                timed.append((entry.key, float(entry.self_device_time_total)))
        elif entry.key.startswith("aten::") and entry.self_cpu_time_total > 0:
            timed.append((entry.key, float(entry.self_cpu_time_total)))
    return timed


def summarise(timed: list[tuple[str, float]], steps: int) -> list[Share]:
    """Time per step and share of each category, largest first."""
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for name, micros in timed:
        category = category_of(name)
        totals[category] = totals.get(category, 0.0) + micros
        counts[category] = counts.get(category, 0) + 1
    whole = sum(totals.values()) or 1.0
    shares = [Share(c, t / 1000 / steps, t / whole, counts[c]) for c, t in totals.items()]
    return sorted(shares, key=lambda s: -s.ms_per_step)


def markdown(shares: list[Share], wall_ms_per_step: float, on_device: bool) -> str:
    """The summary as a Markdown table, with the device's busy share of the wall time."""
    busy = sum(s.ms_per_step for s in shares)
    where = "kernels on the GPU" if on_device else "aten operators' self time on the CPU"
    lines = [
        f"| where ({where}) | ms per step | share | kernels or operators |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {s.category} | {s.ms_per_step:.2f} | {100 * s.share:.1f}% | {s.operators} |" for s in shares]
    lines.append(f"| **all** | **{busy:.2f}** | | |")
    if on_device and wall_ms_per_step > 0:
        lines.append("")
        lines.append(
            f"The GPU ran kernels {100 * min(1.0, busy / wall_ms_per_step):.0f}% of the profiled "
            f"wall time ({busy:.1f} of {wall_ms_per_step:.1f} ms a step)."
        )
    return "\n".join(lines)
