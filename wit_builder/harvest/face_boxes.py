"""Face boxes given with a URL list, read into one form and carried to download.

DataComp's pools hold ``face_bboxes``: per image, a list of ``[x0, y0, x1, y1]`` in fractions of
the image's width and height. Lists arrive as Parquet lists, JSON arrays in a JSONL row, or a
JSON text in a CSV/TSV cell; each becomes a list of four floats per box. A box that is not four
finite numbers cannot be blurred, so it is dropped here and counted (``face_boxes_unusable`` in
harvest's stats): never silently.
"""

from __future__ import annotations

import json
import math


def parse_face_boxes(value: object) -> tuple[list[list[float]] | None, int]:
    """(the usable boxes, or None when there are none; how many given boxes were unusable)."""
    if value is None:
        return None, 0
    if isinstance(value, str):
        if not value.strip():
            return None, 0
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None, 1
    if hasattr(value, "tolist"):  # a numpy array from a Parquet reader
        value = value.tolist()
    if not isinstance(value, list | tuple):
        return None, 1
    boxes, unusable = [], 0
    for box in value:
        try:
            numbers = [float(number) for number in box]
        except (TypeError, ValueError):
            unusable += 1
            continue
        if len(numbers) != 4 or not all(math.isfinite(number) for number in numbers):
            unusable += 1
            continue
        boxes.append(numbers)
    return (boxes or None), unusable


def merge_face_boxes(a: list | None, b: list | None) -> list | None:
    """Of two rows' boxes for one URL, the ones it keeps: any over none, then the larger list
    (ties: the smaller text), so the choice does not depend on the order rows arrive in."""
    if not a or not b:
        return a or b
    return min((a, b), key=lambda boxes: (-len(boxes), json.dumps(boxes)))
