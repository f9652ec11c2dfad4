"""Encode a picture with Pillow while other threads run: into a file in memory, not a BytesIO.

Pillow releases the GIL while it encodes only when it writes to a real file descriptor
(``ImageFile._save`` → ``encode_to_file``); into a ``BytesIO`` it encodes holding the GIL, so
with the download's image work in threads (``--image-processes 0``, the default) every JPEG
encode stops every other thread: 0.38 ms of a 256 px q95 JPEG, a third of the image threads'
time under the GIL on the download benchmark's photos. Each thread therefore keeps one
anonymous in-memory file (``memfd_create``, Linux), encodes into it and reads the bytes back.
The encoder and its settings are the same, so the bytes are the same (tested for JPEG, PNG and
WebP). Where there is no ``memfd_create`` (macOS), it encodes into a ``BytesIO`` as before.
"""

from __future__ import annotations

import io
import os
import threading
from typing import BinaryIO

from PIL import Image

_scratch = threading.local()


def _scratch_file() -> BinaryIO | None:
    """This thread's in-memory file, made on first use; None where the platform has none."""
    handle = getattr(_scratch, "handle", None)
    if handle is None and hasattr(os, "memfd_create"):
        handle = _scratch.handle = open(os.memfd_create("wit-builder-encode", os.MFD_CLOEXEC), "w+b")  # noqa: SIM115
    return handle


def encoded(picture: Image.Image, image_format: str, **options: object) -> bytes:
    """``picture`` saved as ``image_format`` with ``options``, as bytes, the GIL released while
    Pillow's encoder runs."""
    handle = _scratch_file()
    if handle is None:
        buffer = io.BytesIO()
        picture.save(buffer, format=image_format, **options)
        return buffer.getvalue()
    handle.seek(0)
    handle.truncate()
    picture.save(handle, format=image_format, **options)
    handle.flush()
    handle.seek(0)
    return handle.read()
