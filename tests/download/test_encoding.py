"""Encoding into a per-thread in-memory file gives exactly the bytes a BytesIO gets."""

from __future__ import annotations

import io
import os
import threading

import pytest
from PIL import Image

from wit_builder.download import encoding
from wit_builder.download.encoding import encoded


def picture(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    return Image.effect_noise(size, 50).convert(mode)


def by_bytesio(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("image_format", "options", "mode"),
    [
        ("JPEG", {"quality": 95}, "RGB"),
        ("JPEG", {"quality": 60}, "L"),
        ("PNG", {}, "RGBA"),
        ("WEBP", {"quality": 80}, "RGB"),
    ],
)
def test_the_same_bytes_as_a_bytesio_one_after_another(image_format, options, mode):
    # A large file, then a small one: the scratch file is cut back, no tail of the first is left.
    for size in ((320, 240), (16, 12), (200, 300)):
        image = picture(size, mode)
        assert encoded(image, image_format, **options) == by_bytesio(image, image_format, **options)


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="no memfd_create here: a BytesIO is used")
def test_each_thread_encodes_into_a_file_of_its_own():
    handles = []

    def take():
        encoded(picture((8, 8)), "PNG")
        handles.append(encoding._scratch_file())

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(handle.fileno() >= 0 for handle in handles)  # a real descriptor: Pillow lets go of the GIL
    assert handles[0] is not handles[1]


def test_without_memfd_a_bytesio_does(monkeypatch):
    monkeypatch.setattr(encoding, "_scratch", threading.local())
    monkeypatch.delattr(os, "memfd_create", raising=False)
    image = picture((40, 30))
    assert encoded(image, "JPEG", quality=90) == by_bytesio(image, "JPEG", quality=90)
