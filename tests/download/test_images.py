"""Verifying, resizing and hashing downloaded bytes: every bad input gets its status."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from wit_builder.download.images import ImageSettings, perceptual_hash, process_image
from wit_builder.synthetic.web import NOT_AN_IMAGE, image_bytes


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def first(world, **where):
    return next(i for i in world.catalog.images if all(getattr(i, k) == v for k, v in where.items()))


@pytest.mark.parametrize("extension", ["jpg", "png", "webp"])
def test_catalogue_images_are_kept(small_world, extension):
    entry = first(small_world, fault=None, size_class="normal", extension=extension)
    result = process_image(image_bytes(entry), ImageSettings(image_size=128))
    assert result.status == "ok", result.error
    assert (result.original_width, result.original_height) == (entry.width, entry.height)
    assert (result.width, result.height) == (128, 128)  # border mode: a square canvas
    assert Image.open(io.BytesIO(result.image)).format == "JPEG" and len(result.sha256) == 64


def test_bad_bytes_get_their_status(small_world):
    settings = ImageSettings()
    assert process_image(NOT_AN_IMAGE, settings).status == "not_image"
    assert process_image(b"", settings).status == "not_image"
    whole = image_bytes(first(small_world, fault=None, size_class="normal", extension="jpg"))
    broken = process_image(whole[: int(len(whole) * 0.6)], settings)
    assert broken.status == "decode_error" and "truncated" in broken.error
    tiny = first(small_world, fault=None, size_class="tiny")
    small = process_image(image_bytes(tiny), settings)
    assert small.status == "too_small" and small.original_width == tiny.width


def test_pixel_limit_stops_bombs_before_decoding():
    big = encoded(Image.new("L", (2000, 2000)))
    result = process_image(big, ImageSettings(max_pixels=1_000_000))
    assert result.status == "too_large" and "4,000,000 pixels" in result.error
    bomb = encoded(Image.new("1", (15000, 15000)))  # 225 Mpx: past Pillow's own hard limit too
    assert len(bomb) < 1_000_000
    assert process_image(bomb, ImageSettings()).status == "too_large"


def hamming(a: int, b: int) -> int:
    """Bits that differ between two 64-bit hashes (signed or not)."""
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


def stored(image: Image.Image, settings: ImageSettings) -> Image.Image:
    """The picture the download stage stores for ``image`` (sent as PNG), through process_image."""
    result = process_image(encoded(image, "PNG"), settings)
    assert result.status == "ok", result.error
    return Image.open(io.BytesIO(result.image))


@pytest.mark.parametrize(
    ("mode", "size"),
    [("no", (400, 200)), ("keep_ratio", (200, 100)), ("keep_ratio_largest", (100, 50)),
     ("center_crop", (100, 100)), ("border", (100, 100))],
)  # fmt: skip
def test_resize_modes(mode, size):
    image = Image.new("RGB", (400, 200), (200, 50, 50))
    resized = stored(image, ImageSettings(image_size=100, resize_mode=mode, encode_format="png"))
    assert resized.size == size
    if mode == "border":
        assert resized.getpixel((0, 0)) == (255, 255, 255) and resized.getpixel((50, 50)) == (200, 50, 50)


def test_resize_only_if_bigger_leaves_small_images():
    image = Image.new("RGB", (80, 40))
    only_bigger = ImageSettings(image_size=100, resize_mode="keep_ratio", resize_only_if_bigger=True, min_image_size=10)
    assert stored(image, only_bigger).size == (80, 40)
    assert stored(image, ImageSettings(image_size=100, resize_mode="keep_ratio", min_image_size=10)).size == (200, 100)


def test_transparency_becomes_white_and_formats_follow_settings():
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    result = process_image(encoded(rgba), ImageSettings(image_size=64, encode_format="png"))
    stored = Image.open(io.BytesIO(result.image))
    assert stored.format == "PNG" and stored.getpixel((10, 10)) == (255, 255, 255)
    with pytest.raises(ValueError, match="resize mode"):
        ImageSettings(resize_mode="stretch")


def photo_like(seed: int) -> Image.Image:
    """A smooth random colour field with grain: energy at every frequency, as photos have.

    (The synthetic web's flat shape scenes are a weak case for any DCT hash: on a plain
    background the low frequencies mostly say where the shapes sit, so different scenes with
    the same layout can share a hash. The dedupe step must not trust the hash alone there.)"""
    rng = np.random.default_rng(seed)
    field = Image.fromarray((rng.random((6, 8, 3)) * 255).astype(np.uint8)).resize((480, 360), Image.Resampling.BICUBIC)
    grain = rng.normal(0, 12, (360, 480, 3))
    return Image.fromarray(np.clip(np.asarray(field, dtype=float) + grain, 0, 255).astype(np.uint8))


def test_perceptual_hash_finds_resized_and_reencoded_copies():
    originals = [photo_like(seed) for seed in range(60)]
    for original in originals:
        for scale, quality in ((0.5, 60), (0.75, 85)):
            copy = original.resize(
                (int(original.width * scale), int(original.height * scale)), Image.Resampling.BILINEAR
            )
            copy = Image.open(io.BytesIO(encoded(copy, "JPEG", quality=quality)))
            assert hamming(perceptual_hash(original), perceptual_hash(copy)) <= 4
    hashes = [perceptual_hash(o) for o in originals]
    distances = [hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert min(distances) >= 10 and 28 <= sum(distances) / len(distances) <= 36  # unrelated: ~32 of 64 bits
    assert all(-(2**63) <= h < 2**63 for h in hashes)
