"""The one way an output file is written: whole, or not at all.

Every file a stage, the trainer or the takedown writes goes through ``atomic_output``: it is
written as ``PATH.partial`` and renamed to ``PATH`` only when the writing ended without an
error, so a reader (a later stage, a resumed run, an auditor's query) sees the old file or the
new one, never half of one; a kill leaves at most a ``.partial``, which no reader takes for
data and the next run writes again. On an object store, where a rename is a copy, the object
still appears whole: it is written in one piece. ``tests/test_one_writer.py`` walks the package
and fails on an output opened for writing anywhere else.

Several files that must change together commit in order by nesting: the inner one is renamed
first, the outer one last (the shard writer's index, then its tar).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO

import fsspec

PARTIAL = ".partial"


@contextlib.contextmanager
def atomic_output(path: str, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """A handle on ``PATH.partial`` (``mode`` "wb" or "wt"), renamed to ``path`` on a clean exit
    and removed when the block raises."""
    if mode not in ("wb", "wt"):
        raise ValueError(f"atomic_output writes a whole file ('wb' or 'wt'), not {mode!r}")
    filesystem, _ = fsspec.core.url_to_fs(path)
    filesystem.makedirs(filesystem._parent(path), exist_ok=True)  # as fsspec.open does for a write
    partial = path + PARTIAL
    text = {"encoding": encoding or "utf-8"} if mode == "wt" else {}
    try:
        with filesystem.open(partial, mode, **text) as handle:
            yield handle
    except BaseException:
        with contextlib.suppress(OSError):
            filesystem.rm(partial)
        raise
    filesystem.mv(partial, path)


def write_atomically(path: str, data: bytes | str) -> None:
    """``data`` as the whole of the file at ``path`` (text is written as UTF-8)."""
    with atomic_output(path) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
