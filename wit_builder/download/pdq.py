"""PDQ: the 256-bit perceptual hash that industry hash-sharing uses, and what makes it hold up.

PDQ (Meta's open perceptual hash, computed here by the ``pdqhash`` package) is the hash kind
that child-protection bodies and platforms exchange lists of, so hash blocklists compare
downloaded images with it; with 256 bits it also separates unrelated photos far better than a
64-bit pHash (on photo-like pictures: unrelated pairs ≥ 92 bits apart; the same picture
resized, re-encoded at JPEG quality 40 or 5% cropped ≤ 40), which is why eval-set
decontamination uses it too.

Two things PDQ alone does not survive, and what is done about them:

- **Borders.** A copy padded with a plain border hashes ~100 bits away. ``trim_borders`` cuts
  plain margins off before hashing, on both sides of a comparison.
- **Crops.** A 5% crop moves the hash ~50 bits, and up to 84 at a corner. The evaluation side
  is hashed in several crops (``CROP_VARIANTS``: the whole picture, and crops keeping 97.5%,
  95%, 92.5% and 90% of each side at the centre and at each corner: 21 hashes a picture), so a
  cropped copy lands near one of them; a query is hashed once.

A hash's *quality* (0–100) says how much structure the picture had: PDQ's reference treats
hashes under 50 as too plain to match on, and so does this project (a flat background with
one shape hashes like every other flat background).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

PDQ_BYTES = 32
MIN_QUALITY = 50  # PDQ's own threshold for a hash informative enough to match on
# (left, top, right, bottom) as fractions of the picture: the crops the evaluation side is hashed in.
# The whole picture, and crops keeping 97.5%, 95%, 92.5% and 90% of each side at the centre and
# at each of the four corners. A copy cropped at a corner no variant keeps sits 78-84 bits from
# the whole picture, as far as an unrelated photo; with variants 2.5% apart, a crop anywhere from
# 89% to 99% at any corner lands within 36 bits of one (at 5% apart: up to 56, 70-90% recall).
CROP_KEEPS = (0.975, 0.95, 0.925, 0.9)


def _crop_variants() -> tuple[tuple[float, float, float, float], ...]:
    variants = [(0.0, 0.0, 1.0, 1.0)]
    for keep in CROP_KEEPS:
        margin = round((1 - keep) / 2, 6)
        variants.append((margin, margin, round(1 - margin, 6), round(1 - margin, 6)))
    for keep in CROP_KEEPS:
        cut = round(1 - keep, 6)
        variants += [(0.0, 0.0, keep, keep), (cut, 0.0, 1.0, keep), (0.0, cut, keep, 1.0), (cut, cut, 1.0, 1.0)]
    return tuple(variants)


CROP_VARIANTS: tuple[tuple[float, float, float, float], ...] = _crop_variants()
BORDER_TOLERANCE = 10  # mean grey levels a border row may stray from the edge's colour (JPEG ringing)
HASH_SIDE = 512  # pictures are shrunk to at most this side before hashing: PDQ's own working size


def pdq_hash(image: Image.Image) -> tuple[bytes, int]:
    """(the 32-byte PDQ hash, its quality 0–100) of ``image``."""
    import pdqhash

    if max(image.size) > HASH_SIDE:  # the hash sees 64×64 in the end; a smaller input costs less
        image = image.copy()
        image.thumbnail((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX)
    bits, quality = pdqhash.compute(np.ascontiguousarray(np.asarray(image.convert("RGB"))))
    return np.packbits(bits.astype(np.uint8)).tobytes(), int(quality)


def hamming(a: bytes, b: bytes) -> int:
    """Bits that differ between two hashes of the same length."""
    return int(np.unpackbits(np.frombuffer(a, np.uint8) ^ np.frombuffer(b, np.uint8)).sum())


def trim_borders(image: Image.Image) -> Image.Image:
    """``image`` without plain margins: rows and columns that are flat and stay, on average,
    within ``BORDER_TOLERANCE`` grey levels of the edge's own colour (so JPEG's ringing beside
    the picture does not end a border early). Unchanged when trimming would cut half of either side,
    which is a plain picture, not a border."""
    grey = np.asarray(image.convert("L"), np.float32)
    height, width = grey.shape

    def plain_run(lines: np.ndarray) -> int:
        """How many of ``lines`` (rows, from the edge inwards) are border."""
        colour = np.median(lines[0])
        strays = np.abs(lines - colour).mean(axis=1) > BORDER_TOLERANCE
        busy = np.flatnonzero(strays | (lines.std(axis=1) > BORDER_TOLERANCE))
        return int(busy[0]) if busy.size else len(lines)

    top, bottom = plain_run(grey), plain_run(grey[::-1])
    left, right = plain_run(grey.T), plain_run(grey.T[::-1])
    if top + bottom >= height / 2 or left + right >= width / 2:
        return image
    if not (top or bottom or left or right):
        return image
    return image.crop((left, top, width - right, height - bottom))


def crop_variants(image: Image.Image) -> list[Image.Image]:
    """The picture in each of ``CROP_VARIANTS`` (after its borders are trimmed)."""
    image = trim_borders(image)
    width, height = image.size
    return [
        image.crop((round(width * x0), round(height * y0), round(width * x1), round(height * y1)))
        for x0, y0, x1, y1 in CROP_VARIANTS
    ]
