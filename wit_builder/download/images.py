"""From downloaded bytes to a stored image: verify, resize, re-encode, hash.

Why not img2dataset's ``Resizer``: it is built on OpenCV and albumentations, and img2dataset pins
webdataset < 0.3, which this project's shard stage cannot use; so the same modes are written
here with Pillow, with the meanings img2dataset's users know (``image_size`` = S):

- ``no``: keep the size;
- ``keep_ratio``: the shorter side becomes S;
- ``keep_ratio_largest``: the longer side becomes S;
- ``center_crop``: the shorter side becomes S, then the centre S×S is cut;
- ``border``: the longer side becomes S, then the image is centred on an S×S white canvas
  (img2dataset's resizer pads with white, ``value=[255, 255, 255]``, and we promise its meanings).

``resize_only_if_bigger`` leaves images that are already small enough alone. Downscaling
averages areas (Pillow's BOX filter: OpenCV's INTER_AREA, which img2dataset uses, and about a
third of Lanczos's cost: ``benchmarks/RESULTS.md``), upscaling uses Lanczos
(img2dataset: LANCZOS4).
JPEG files are decoded at 1/2, 1/4 or 1/8 scale by libjpeg when that is still at least the
target size; plain 8-bit PNGs by libvips, to the same pixels as Pillow's (``png_pixels``).

Checks, in order, each with its status: bytes that are no image format Pillow knows
(``not_image``: an HTML page served as image/jpeg, say); more pixels than ``max_pixels`` as
declared by the header, before any decoding (``too_large``: decompression bombs); a file that
stops or breaks while decoding (``decode_error``: truncated downloads); a shorter side under
``min_image_size`` (``too_small``); an aspect ratio over ``max_aspect_ratio``
(``bad_aspect_ratio``). Images are turned upright by their EXIF orientation, and transparency
is flattened onto white before encoding.

Hashes: SHA-256 of the stored bytes (exact duplicates), a 64-bit DCT perceptual hash of the
decoded image (near duplicates: the same picture resized or re-encoded stays within a few bits),
and the image shrunk to 4×4 RGB pixels (``colour_grid``). The hash sees grey levels only, so on
low-content pictures (a plain background with one shape) different images can share it; the
colour grid tells them apart, and a copy's grid stays within a few levels of the original's.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from wit_builder.download.encoding import encoded
from wit_builder.download.face_blur import blur_faces
from wit_builder.download.hash_blocklists import BodyDigests
from wit_builder.download.png_pixels import vips_picture
from wit_builder.download.settings import ENCODE_FORMATS, ImageSettings

BORDER_COLOUR = (255, 255, 255)  # img2dataset's padding colour
EXIF_ORIENTATION = 0x0112


@dataclass
class ProcessedImage:
    status: str  # "ok" or the reason the image is not kept
    error: str | None = None
    image: bytes | None = None
    image_format: str | None = None
    width: int = 0
    height: int = 0
    original_width: int = 0
    original_height: int = 0
    sha256: str | None = None
    phash: int | None = None
    colour_grid: bytes | None = None
    faces_blurred: int = 0
    digests: BodyDigests | None = None  # for hash blocklists and eval sets, when a run has them
    pdq_quality: int = 0
    body_sha256: str | None = None  # of the body as served: what recheck compares


def _target_size(width: int, height: int, settings: ImageSettings) -> tuple[int, int]:
    """The size before cropping or padding: the shorter (or longer) side scaled to image_size."""
    size = settings.image_size
    if settings.resize_mode == "no":
        return width, height
    side = max(width, height) if settings.resize_mode in ("keep_ratio_largest", "border") else min(width, height)
    if settings.resize_only_if_bigger and side <= size:
        return width, height
    scale = size / side
    return max(1, round(width * scale)), max(1, round(height * scale))


def scale(image: Image.Image, settings: ImageSettings) -> Image.Image:
    """The whole picture at the mode's scale, before cropping or padding."""
    width, height = _target_size(image.width, image.height, settings)
    if (width, height) != image.size:
        downscale = width < image.width
        image = image.resize((width, height), Image.Resampling.BOX if downscale else Image.Resampling.LANCZOS)
    return image


def frame(image: Image.Image, settings: ImageSettings) -> Image.Image:
    """A scaled image cropped (``center_crop``) or padded (``border``) to its final size."""
    size = settings.image_size
    if settings.resize_mode == "center_crop" and (image.width > size or image.height > size):
        left, top = (image.width - min(size, image.width)) // 2, (image.height - min(size, image.height)) // 2
        image = image.crop((left, top, left + min(size, image.width), top + min(size, image.height)))
    elif settings.resize_mode == "border" and image.size != (size, size) and max(image.size) <= size:
        canvas = Image.new("RGB", (size, size), BORDER_COLOUR)
        canvas.paste(image, ((size - image.width) // 2, (size - image.height) // 2))
        image = canvas
    return image


def _rgb(image: Image.Image) -> Image.Image:
    """RGB, with any transparency flattened onto white (a picture already RGB as it is: no copy)."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


@cache
def _dct_matrix(n: int = 32) -> np.ndarray:
    """The orthonormal DCT-II matrix: ``M @ x`` is the DCT of the column x."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    matrix = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2 / n)
    matrix[0] /= math.sqrt(2)
    return matrix


def perceptual_hash(image: Image.Image) -> int:
    """64-bit pHash: grey 32×32 (area-averaged), 2-D DCT, the 8×8 lowest frequencies against their median.

    Returned as a signed 64-bit integer with the same bits (the column type in Parquet); bit 63
    is the DCT's (0, 0) coefficient compared with the median.
    """
    grey = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.BOX), dtype=np.float64)
    matrix = _dct_matrix(32)
    low = (matrix @ grey @ matrix.T)[:8, :8].ravel()
    bits = low > np.median(low)
    value = int("".join("1" if bit else "0" for bit in bits), 2)
    return value - (1 << 64) if value >= 1 << 63 else value


def colour_grid(image: Image.Image) -> bytes:
    """The image as 4×4 RGB pixels (box-averaged), 48 bytes row by row."""
    return image.convert("RGB").resize((4, 4), Image.Resampling.BOX).tobytes()


def grid_distance(a: bytes, b: bytes) -> int:
    """The largest difference of one channel of one cell between two colour grids (0–255)."""
    return int(np.abs(np.frombuffer(a, np.uint8).astype(np.int16) - np.frombuffer(b, np.uint8)).max())


def body_digests(body: bytes, picture: Image.Image, wanted: frozenset[str]) -> tuple[BodyDigests, int]:
    """The digests ``wanted`` ("sha256", "md5", "pdq") of a body and its decoded picture, with the
    PDQ's quality (0 when no PDQ was wanted)."""
    from wit_builder.download.pdq import pdq_hash, trim_borders

    pdq, quality = pdq_hash(trim_borders(picture)) if "pdq" in wanted else (None, 0)
    return BodyDigests(
        hashlib.sha256(body).hexdigest() if "sha256" in wanted else None,
        hashlib.md5(body, usedforsecurity=False).hexdigest() if "md5" in wanted else None,
        pdq,
    ), quality


def process_image(
    body: bytes,
    settings: ImageSettings,
    wanted: frozenset[str] = frozenset(),
    face_boxes: list | None = None,
) -> ProcessedImage:
    """Verify, resize, encode and hash one downloaded body; never raises for bad bytes.

    ``wanted`` names the digests a run's hash blocklists and eval sets compare (of the body as
    served, and PDQ of the picture before any face is blurred); ``face_boxes`` are the pair's
    ``face_bboxes``, blurred before the picture is scaled and encoded."""
    opened = _opened(body)
    if isinstance(opened, ProcessedImage):
        return opened
    original_size = opened.size  # before a JPEG draft decodes it smaller
    rgb = _decoded(opened, settings, body)
    if isinstance(rgb, ProcessedImage):
        return rgb
    digests, quality = body_digests(body, rgb, wanted) if wanted else (None, 0)
    # The body's own digest, for its provenance: here in the image pool, not on the event loop.
    served = digests.sha256 if digests is not None and digests.sha256 else hashlib.sha256(body).hexdigest()
    rgb, faces_blurred = blur_faces(rgb, face_boxes)
    scaled = scale(rgb, settings)
    stored = frame(scaled, settings)
    options = {"quality": settings.encode_quality} if settings.encode_format in ("jpg", "webp") else {}
    data = encoded(stored, ENCODE_FORMATS[settings.encode_format], **options)  # other threads run meanwhile
    return ProcessedImage(
        "ok",
        None,
        data,
        settings.encode_format,
        stored.width,
        stored.height,
        *original_size,
        hashlib.sha256(data).hexdigest(),
        perceptual_hash(scaled),  # the whole picture, already small: cheap, and resolution-free
        colour_grid(scaled),
        faces_blurred,
        digests,
        quality,
        served,
    )


def _opened(body: bytes) -> Image.Image | ProcessedImage:
    """The body opened (its header read, not its pixels), or why it cannot be."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below, our limit
            return Image.open(io.BytesIO(body))
    except UnidentifiedImageError:
        return ProcessedImage("not_image", "not an image format Pillow can read")
    except Image.DecompressionBombError as error:
        return ProcessedImage("too_large", str(error))
    except (OSError, ValueError, SyntaxError) as error:  # a header so broken the format cannot tell
        return ProcessedImage("decode_error", f"{type(error).__name__}: {error}")


def _decoded(opened: Image.Image, settings: ImageSettings, body: bytes) -> Image.Image | ProcessedImage:
    """The picture in RGB, upright (EXIF), decoded at the smallest JPEG scale still enough (a
    plain 8-bit PNG by libvips, to Pillow's very pixels), or why it is not kept: too many pixels,
    undecodable, too small, too long and thin."""
    original_width, original_height = opened.size

    def rejected(status: str, error: str) -> ProcessedImage:
        return ProcessedImage(status, error, original_width=original_width, original_height=original_height)

    pixels = original_width * original_height
    if pixels > settings.max_pixels:
        return rejected("too_large", f"{pixels:,} pixels > {settings.max_pixels:,}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = vips_picture(body, opened)
            rgb = _rgb(picture if picture is not None else _pillow_upright(opened, settings))
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        return rejected("decode_error", f"{type(error).__name__}: {error}")
    shorter, longer = min(rgb.size), max(rgb.size)
    if shorter < settings.min_image_size:
        return rejected("too_small", f"{rgb.width}×{rgb.height} < {settings.min_image_size} px")
    if longer / shorter > settings.max_aspect_ratio:
        return rejected("bad_aspect_ratio", f"aspect ratio {longer / shorter:.1f} > {settings.max_aspect_ratio}")
    return rgb


def _pillow_upright(opened: Image.Image, settings: ImageSettings) -> Image.Image:
    """Pillow's decode, a JPEG at the smallest DCT scale still enough, turned by its orientation."""
    if opened.format == "JPEG":  # let libjpeg decode at 1/2, 1/4 or 1/8 when that is still enough
        opened.draft("RGB", _target_size(opened.width, opened.height, settings))
    opened.load()
    if opened.getexif().get(EXIF_ORIENTATION, 1) != 1:
        opened = ImageOps.exif_transpose(opened)
    return opened
