"""Keep large freed blocks in a CPU training process instead of handing them back to the kernel.

glibc serves any allocation over its mmap threshold (at most 32 MB, however it adapts) with a
fresh ``mmap`` and returns it with ``munmap`` when freed. A normalised batch of 64 pictures at
224 px is 38.5 MB of float32, and a CPU step's activations are larger still, so every step maps
new memory and takes a page fault on the first write to each of its ~9,400 pages: on this
project's 2-core VM that made normalising a batch 3.3 times slower (0.48 against 0.14 ms a
picture, ``benchmarks/RESULTS.md``). Raising the mmap and trim thresholds keeps those blocks in
the heap for the next step to reuse, the effect PyTorch's CPU tuning guide gets by preloading
jemalloc or tcmalloc, with nothing to install.

torch allocates aligned blocks, so a freed batch is not always big enough for the next one: the
heap grows by a few batches over the first steps (four, 154 MB, at 64 × 224 px), and from then
on every batch reuses freed memory with no page faults (``tests/train/test_host_memory.py``).

Only the training process on a CPU device asks for it (a GPU's memory has its own caching
allocator), and data-loader workers forked afterwards inherit it. The cost is that the process's
resident size stays at its peak rather than shrinking between steps.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # glibc's <malloc.h> parameter numbers
M_MMAP_THRESHOLD = -3
KEEP_BLOCKS_UP_TO = 1 << 30  # 1 GiB (mallopt takes a C int): 512 float32 pictures at 336 px fit


def keep_large_freed_blocks(limit: int = KEEP_BLOCKS_UP_TO) -> bool:
    """Ask glibc to serve blocks up to ``limit`` bytes from its heap and keep them when freed.

    True when glibc took both settings; False (and nothing changed) on another C library or
    platform, where allocation works as before, only slower on a CPU device."""
    if not 0 < limit < 2**31:
        raise ValueError(f"limit must fit glibc's int parameter, got {limit}")
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # no glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # The trim threshold first: with it raised, freeing a block at the top of the heap keeps it.
    taken = mallopt(M_TRIM_THRESHOLD, limit) == 1 and mallopt(M_MMAP_THRESHOLD, limit) == 1
    if not taken:
        log.info("glibc refused the larger mmap threshold; large blocks are mapped afresh each time")
    return taken
