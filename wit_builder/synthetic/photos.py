"""Photo-like pictures: what a web photo costs to encode, store and decode, made on the spot.

Flat synthetic shapes compress to a few KB and decode in a blink; a photo has structure at
every scale. Blurred noise at three scales gives a 256 px JPEG at quality 95 of ~33 KB, what a
downloaded photo weighs after img2dataset-style resizing, so shard and loader timings on these
pictures are timings on real-sized work.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter


def photo_like(rng: np.random.Generator, size: int) -> Image.Image:
    """A ``size`` x ``size`` RGB picture with structure at every scale: blurred noise at three scales."""
    picture = np.zeros((size, size, 3), np.float32)
    for cells, weight, blur in ((4, 1.0, size / 8), (16, 0.5, size / 32), (size, 0.22, 0.6)):
        noise = rng.random((cells, cells, 3)).astype(np.float32)
        layer = Image.fromarray((noise * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)
        layer = layer.filter(ImageFilter.GaussianBlur(blur))
        picture += weight * (np.asarray(layer, np.float32) - 128)
    return Image.fromarray(np.clip(128 + picture, 0, 255).astype(np.uint8))
