"""Photo-like image files as the web serves them, for timing a downloader on real work.

The synthetic web's scenes are flat shapes: 4.5 KB on average, decoded in a blink, which times a
downloader's overheads and not its image work. Web photos are larger: image-text pools report
originals of a few hundred to a couple of thousand pixels a side, mostly JPEG. These files are:

- the longer side log-uniform in [320, 1600] px (median ~715), a third landscape 4:3, a third
  portrait 3:4, a third square;
- 85% JPEG at quality 75-95, 10% PNG, 5% WebP at quality 80;
- every picture its own (``synthetic.photos``: detail at every scale, drawn at 320 px and
  resized to its size), so no two bodies or pictures are alike and no dedupe shortcut applies.

A JPEG here weighs ~60-250 KB, as web photos do.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image

from wit_builder.synthetic.photos import photo_like

DRAWN = 320  # each picture is drawn at this side, then resized to its own size
FORMATS = (("jpg", 0.85), ("png", 0.10), ("webp", 0.05))


def web_photos(count: int, seed: int = 0) -> dict[str, bytes]:
    """``count`` files named ``photo-NNNNNN.EXT``, their bytes as a server sends them."""
    rng = np.random.default_rng(seed)
    extensions = [name for name, _ in FORMATS]
    shares = [share for _, share in FORMATS]
    files = {}
    for index in range(count):
        longer = round(math.exp(rng.uniform(math.log(320), math.log(1600))))
        shape = index % 3
        width, height = (longer, longer * 3 // 4) if shape == 0 else (longer * 3 // 4, longer) if shape == 1 else (
            longer, longer)  # fmt: skip
        picture = photo_like(rng, DRAWN).resize((width, height), Image.Resampling.BICUBIC)
        extension = str(rng.choice(extensions, p=shares))
        buffer = io.BytesIO()
        if extension == "jpg":
            picture.save(buffer, "JPEG", quality=int(rng.integers(75, 96)))
        elif extension == "png":
            picture.save(buffer, "PNG", compress_level=6)
        else:
            picture.save(buffer, "WEBP", quality=80)
        files[f"photo-{index:06d}.{extension}"] = buffer.getvalue()
    return files


def even_photos(count: int, size: tuple[int, int] = (640, 480), quality: int = 85, seed: int = 0) -> dict[str, bytes]:
    """``count`` JPEGs all of one ``size`` (640×480 at quality 85: ~40 KB, the common camera-roll
    thumbnail), each picture its own: the input on which a downloader's per-image overheads show
    beside a fixed, modest decode."""
    rng = np.random.default_rng(seed)
    files = {}
    for index in range(count):
        buffer = io.BytesIO()
        photo_like(rng, DRAWN).resize(size, Image.Resampling.BICUBIC).save(buffer, "JPEG", quality=quality)
        files[f"photo-{index:06d}.jpg"] = buffer.getvalue()
    return files
