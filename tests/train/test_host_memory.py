"""A CPU training process keeps large freed blocks: later batches reuse them without faults."""

import subprocess
import sys
from pathlib import Path

import pytest

# Normalises forty 38.5 MB batches (64 pictures at 224 px, as a CPU step does), then counts the
# page faults of the last twenty: a block mapped afresh faults on every 4 KiB page (~9,400 a
# batch); kept heap blocks are reused once the first steps have sized the heap (torch's aligned
# allocations need a few freed blocks before one fits, and how many varies from run to run).
_FAULTS_OF_THE_LAST_BATCHES = """
import resource, sys, torch
from wit_builder.train.host_memory import keep_large_freed_blocks
from wit_builder.train.transforms import normalise_pixels
kept = keep_large_freed_blocks() if sys.argv[1] == "keep" else None
pixels = torch.zeros((64, 3, 224, 224), dtype=torch.uint8)
for step in range(40):
    if step == 20:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    batch = normalise_pixels(pixels)
    del batch
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


PAGES_A_BATCH = 64 * 3 * 224 * 224 * 4 // 4096  # 9,408


def _faults(mode: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _FAULTS_OF_THE_LAST_BATCHES, mode], capture_output=True, text=True, check=True
    )
    kept, faults = done.stdout.split()
    return kept, int(faults)


def _huge_pages_always() -> bool:
    """Whether the kernel backs every large anonymous mapping with 2 MB pages (then a fresh
    mapping faults 512 times less, and the default allocator's cost does not show in faults)."""
    try:
        return "[always]" in Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_freed_batch_is_reused_without_page_faults():
    _, plain = _faults("plain")
    kept, reused = _faults("keep")
    assert kept == "True"
    assert reused < 3 * PAGES_A_BATCH  # at most two of the twenty batches in fresh memory
    if not _huge_pages_always():
        assert plain > 18 * PAGES_A_BATCH  # over glibc's largest mmap threshold: every batch mapped afresh
