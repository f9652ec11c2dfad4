"""Rewrite a folder of generated files without making unchanged ones look new.

``wit-builder run`` keys each stage on its source files' sizes and modification times
(``io.fingerprint``). A generator that writes every file afresh (the synthetic world, the demo's
evaluation sets) would make a world identical to the last one look changed, and every stage
would run again. So a folder rewritten inside ``unchanged_mtimes_kept`` gives each file that
ends up holding the bytes it held before its old modification time back; a file whose bytes
changed keeps its new one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _digest(path: Path) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.digest()


def _files(root: Path) -> Iterator[Path]:
    return (path for path in root.rglob("*") if path.is_file() and not path.is_symlink())


@contextmanager
def unchanged_mtimes_kept(root: str | Path) -> Iterator[None]:
    """Within the block, rewrite files below local folder ``root`` as you will; after it, each
    file holding the same bytes as before has its former access and modification times again."""
    folder = Path(root)
    before = {}
    if folder.is_dir():
        before = {path: (path.stat(), _digest(path)) for path in _files(folder)}
    yield
    for path, (stat, digest) in before.items():
        try:
            same = path.is_file() and path.stat().st_size == stat.st_size and _digest(path) == digest
        except OSError:
            continue
        if same:
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
