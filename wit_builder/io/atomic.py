"""Write a whole file so that readers see the old one or the new one, never half of one."""

from __future__ import annotations

import fsspec


def write_atomically(path: str, data: bytes) -> None:
    """Write ``PATH.partial``, then rename it to ``path`` (on object stores, where a rename is a
    copy, the object still appears whole: it is written in one piece)."""
    filesystem, _ = fsspec.core.url_to_fs(path)
    with filesystem.open(path + ".partial", "wb") as handle:
        handle.write(data)
    filesystem.mv(path + ".partial", path)
