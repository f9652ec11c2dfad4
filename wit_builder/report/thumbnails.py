"""Small JPEGs for the reports, embedded as data URIs so that a report opens offline."""

from __future__ import annotations

import base64
import io

from PIL import Image

THUMBNAIL_SIDE = 96  # pixels, the longer side


def thumbnail(picture: bytes | Image.Image, side: int = THUMBNAIL_SIDE) -> bytes:
    """A small JPEG of a picture or of image file bytes: what a report shows an auditor (an
    evaluation image beside its copies, the lowest-scoring pairs, a duplicate cluster)."""
    if isinstance(picture, bytes):
        with Image.open(io.BytesIO(picture)) as opened:
            small = opened.convert("RGB")
    else:
        small = picture.convert("RGB")
    small.thumbnail((side, side), Image.Resampling.BOX)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def data_uri(jpeg: bytes | None) -> str | None:
    """``data:image/jpeg;base64,...`` of a JPEG, None of None."""
    return f"data:image/jpeg;base64,{base64.b64encode(jpeg).decode()}" if jpeg else None
