"""PNG pixels through libvips (``pyvips``): Pillow's very pixels and statuses in less time.

On the download benchmark's web photos a PNG took 17.8 ms to decode with Pillow and 12.2 ms
with libvips (``benchmarks/RESULTS.md``): PNG is a tenth of the files and was 40% of the image
work. A PNG is lossless, so both decoders give the same numbers; this module only takes the
files where it can promise exactly Pillow's picture, and leaves every other one to Pillow:

- 8 bits a sample, in any of the five colour types (grey, RGB, palette, grey + alpha, RGBA). A
  16-bit or 1-, 2- or 4-bit file goes to Pillow, whose own conversions (16-bit grey clipped to
  255, a packed palette) define what the stage stores;
- a palette's ``tRNS`` applied as Pillow applies it (an RGBA picture, flattened onto white by
  the caller); an RGB or grey file's single transparent colour ignored, as Pillow's ``convert``
  does;
- no orientation anywhere Pillow looks for one (an ``eXIf`` chunk, ImageMagick's "Raw profile
  type exif" text, XMP), found by walking the chunk headers (``may_be_turned``; searching the
  whole body for the names cost 0.7 ms a PNG): a file with one goes to Pillow, which turns it
  upright.

Broken files: libvips runs with ``fail_on="truncated"``, which fails where Pillow's decoder
fails (a cut file, a zlib stream whose checksum is wrong) and passes what Pillow passes (a bad
chunk CRC, a missing IEND): tested on each. Any file libvips refuses then goes to Pillow, so a
broken file gets the very status and message Pillow's decoder gives it. libspng alone
(``pyspng``) was faster, 9.8 ms, but it checks neither CRCs nor the zlib checksum, so a damaged
stream came out as pixels where Pillow says ``decode_error``.

Without ``pyvips`` (or its libvips) installed, every PNG goes to Pillow. Decompression-bomb
limits are checked on the header before either decoder runs.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PIL import Image

try:
    import pyvips
except (ImportError, OSError):  # an optional speed-up: Pillow decodes every PNG without it
    pyvips = None

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Colour type -> the bands of Pillow's picture (a grey or RGB file's tRNS adds none in Pillow).
_BANDS = {0: 1, 2: 3, 4: 2, 6: 4}
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
_ORIENTATION_KEYWORDS = (b"Raw profile type exif", b"XML:com.adobe.xmp")  # Pillow reads both


def may_be_turned(body: bytes) -> bool:
    """Whether the PNG may carry an orientation where Pillow looks for one: an ``eXIf`` chunk, or a
    text chunk keyed "Raw profile type exif" or XMP, before or after the pixels. Only the chunk
    headers are read (a few dozen in a photo), not the pixels. A file whose chunks do not run
    whole to IEND may: Pillow decides what it is."""
    position, end = len(PNG_SIGNATURE), len(body)
    while position + 8 <= end:
        length = int.from_bytes(body[position : position + 4], "big")
        kind = body[position + 4 : position + 8]
        if kind == b"IEND":
            return False
        if kind == b"eXIf":
            return True
        if kind in _TEXT_CHUNKS and body[position + 8 : position + 88].split(b"\0", 1)[0] in _ORIENTATION_KEYWORDS:
            return True
        position += 12 + length
    return True


@cache
def _vips_ready() -> bool:
    """libvips set up for one picture at a time in a pool process: no operation cache (each body
    is decoded once) and one thread (the pool's processes are the parallelism)."""
    pyvips.cache_set_max(0)
    pyvips.concurrency_set(1)
    return True


def vips_bands(body: bytes, opened: Image.Image) -> int | None:
    """How many bands Pillow's picture of this PNG has, or None where only Pillow gives the
    stage's picture (see the module's rules)."""
    if pyvips is None or opened.format != "PNG" or body[:8] != PNG_SIGNATURE or body[12:16] != b"IHDR":
        return None
    depth, colour_type = body[24], body[25]
    if depth != 8 or may_be_turned(body):
        return None
    if colour_type == 3:  # palette: with a tRNS chunk Pillow flattens it as RGBA
        return 4 if "transparency" in opened.info else 3
    return _BANDS.get(colour_type)


def vips_picture(body: bytes, opened: Image.Image) -> Image.Image | None:
    """The picture Pillow would decode from ``body`` (opened, not loaded, as ``opened``), with
    its ``info``, decoded by libvips; None where Pillow must decode it."""
    bands = vips_bands(body, opened)
    if bands is None:
        return None
    _vips_ready()
    try:
        image = pyvips.Image.pngload_buffer(body, access="sequential", fail_on="truncated")
        if image.format != "uchar" or image.bands < bands or (image.width, image.height) != opened.size:
            return None
        data = image.write_to_memory()
    except pyvips.Error:  # refused by libvips: Pillow decides what it is
        return None
    pixels = np.frombuffer(data, np.uint8).reshape(image.height, image.width, image.bands)[:, :, :bands]
    picture = Image.fromarray(pixels[:, :, 0] if bands == 1 else np.ascontiguousarray(pixels))
    picture.info = dict(opened.info)  # what Pillow's picture carries on (a PNG output keeps its ICC profile)
    return picture
