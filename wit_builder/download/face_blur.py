"""Faces blurred inside given boxes, before the image is encoded.

DataComp's pools carry a ``face_bboxes`` column: per image, boxes ``[x0, y0, x1, y1]`` as
fractions of its width and height (img2dataset's ``bbox_col`` reads the same). Each box is
blurred beyond recognition before anything is encoded, so no stored byte holds the face: the
box is first reduced to ``MOSAIC_CELLS`` cells across its longer side (what is left is a few
skin-coloured blocks, whatever the face's size), then smoothed with a Gaussian whose radius
grows with the box, so the blocks' edges give nothing back either. Pixels outside every box are
left exactly as they were.

Boxes are clipped to the picture; an empty or inverted box, or one with a coordinate that is not
a number, is skipped and not counted. Detecting faces without given boxes needs a detector
model, which this project does not ship.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image, ImageFilter

MOSAIC_CELLS = 4  # cells across the longer side of a box: too few to hold a face
BLUR_SHARE = 0.12  # the Gaussian's radius as a share of the box's longer side


def _pixel_box(box: Sequence[float], width: int, height: int) -> tuple[int, int, int, int] | None:
    try:
        x0, y0, x1, y1 = (float(value) for value in box)
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(value) for value in (x0, y0, x1, y1)):
        return None
    left, top = max(0, math.floor(min(x0, x1) * width)), max(0, math.floor(min(y0, y1) * height))
    right, bottom = min(width, math.ceil(max(x0, x1) * width)), min(height, math.ceil(max(y0, y1) * height))
    if x1 <= x0 or y1 <= y0 or right <= left or bottom <= top:
        return None
    return left, top, right, bottom


def blur_faces(image: Image.Image, boxes: Sequence[Sequence[float]] | None) -> tuple[Image.Image, int]:
    """(``image`` with every usable box blurred, how many boxes were blurred); the input is not changed."""
    if not boxes:
        return image, 0
    width, height = image.size
    blurred = 0
    result = image
    for box in boxes:
        pixels = _pixel_box(box, width, height) if box is not None else None
        if pixels is None:
            continue
        if result is image:
            result = image.copy()
        left, top = pixels[:2]
        region = result.crop(pixels)
        longer = max(region.size)
        cells = (
            max(1, round(region.width * MOSAIC_CELLS / longer)),
            max(1, round(region.height * MOSAIC_CELLS / longer)),
        )
        mosaic = region.resize(cells, Image.Resampling.BOX).resize(region.size, Image.Resampling.NEAREST)
        smooth = mosaic.filter(ImageFilter.GaussianBlur(max(1.0, BLUR_SHARE * longer)))
        result.paste(smooth, (left, top))
        blurred += 1
    return result, blurred
