"""PNGs decoded by libvips give the stage exactly what Pillow's decoder gives: the same stored
bytes, hashes and statuses, every odd PNG included; files it cannot promise that for go to Pillow."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from wit_builder.download import png_pixels
from wit_builder.download.images import ImageSettings, process_image

pytest.importorskip("pyvips")


def png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def photo(width: int = 96, height: int = 72) -> Image.Image:
    rng = np.random.default_rng(width * height)
    ramp = np.linspace(0, 255, width)[None, :, None] * np.ones((height, 1, 3))
    noise = rng.normal(0, 40, (height, width, 3))
    return Image.fromarray(np.clip(ramp + noise, 0, 255).astype(np.uint8))


def with_chunk(body: bytes, name: bytes, data: bytes) -> bytes:
    """``body`` with a chunk inserted just before IEND (after the pixels)."""
    chunk = struct.pack(">I", len(data)) + name + data
    chunk += struct.pack(">I", zlib.crc32(name + data) & 0xFFFFFFFF)
    end = body.rindex(b"IEND") - 4
    return body[:end] + chunk + body[end:]


def gamma_info() -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add(b"gAMA", struct.pack(">I", 45455))
    info.add_text("Comment", "a caption")
    return info


PICTURE = photo()
PALETTE = PICTURE.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
ALPHA = np.tile(np.linspace(0, 255, 96, dtype=np.uint8), (72, 1))
RGBA = Image.merge("RGBA", (*PICTURE.split(), Image.fromarray(ALPHA)))

# The PNGs libvips decodes (8 bits a sample, no orientation anywhere), each kind a web serves.
FAST = {
    "rgb": png(PICTURE),
    "rgba": png(RGBA),
    "grey": png(PICTURE.convert("L")),
    "grey_alpha": png(RGBA.convert("LA")),
    "palette": png(PALETTE, bits=8),
    "palette_trns": png(PALETTE, bits=8, transparency=bytes(range(0, 256, 4))),
    "rgb_trns": png(PICTURE, transparency=(10, 20, 30)),
    "grey_trns": png(PICTURE.convert("L"), transparency=7),
    "gamma_and_text": png(PICTURE, pnginfo=gamma_info()),
    "icc_profile": png(PICTURE, icc_profile=b"\0" * 128),
    "optimised": png(PICTURE, optimize=True),
    "portrait": png(photo(60, 140)),
    "words_that_name_orientation_in_a_comment": with_chunk(
        png(PICTURE), b"tEXt", b"Comment\0eXIf, Raw profile type exif, XML:com.adobe.xmp"
    ),
}
# The PNGs Pillow keeps: its own conversions or an orientation decide what is stored.
ROTATED = PICTURE.getexif()
ROTATED[0x0112] = 6
PILLOW = {
    "one_bit": png(PICTURE.convert("1")),
    "palette_4_bit": png(PICTURE.convert("P", palette=Image.Palette.ADAPTIVE, colors=16), bits=4),
    "grey_16_bit": png(Image.fromarray(np.asarray(PICTURE.convert("L"), np.uint16) * 257)),
    "exif_orientation": png(PICTURE, exif=ROTATED.tobytes()),
    "exif_after_the_pixels": with_chunk(png(PICTURE), b"eXIf", ROTATED.tobytes()),
}
XMP = PngImagePlugin.PngInfo()
XMP.add_itxt("XML:com.adobe.xmp", '<x:xmpmeta><rdf:Description tiff:Orientation="6"/></x:xmpmeta>')
PILLOW["xmp_orientation"] = png(PICTURE, pnginfo=XMP)

SETTINGS = [
    ImageSettings(image_size=64, resize_mode="border"),
    ImageSettings(image_size=48, resize_mode="center_crop", encode_format="png"),
    ImageSettings(image_size=200, resize_mode="keep_ratio", encode_format="webp"),
]


def by_pillow_alone(body: bytes, settings: ImageSettings, monkeypatch) -> object:
    with monkeypatch.context() as patch:
        patch.setattr(png_pixels, "pyvips", None)
        return process_image(body, settings)


def same_outcome(a, b) -> None:
    assert (a.status, a.error) == (b.status, b.error)
    assert (a.image, a.width, a.height, a.original_width, a.original_height) == (
        b.image, b.width, b.height, b.original_width, b.original_height)  # fmt: skip
    assert (a.sha256, a.phash, a.colour_grid, a.body_sha256) == (b.sha256, b.phash, b.colour_grid, b.body_sha256)


@pytest.mark.parametrize("name", sorted(FAST))
@pytest.mark.parametrize("settings", SETTINGS, ids=["border_jpg", "crop_png", "keep_ratio_webp"])
def test_libvips_stores_the_bytes_pillow_stores(name, settings, monkeypatch):
    body = FAST[name]
    assert png_pixels.vips_picture(body, Image.open(io.BytesIO(body))) is not None  # the fast path is taken
    fast = process_image(body, settings)
    assert fast.status == "ok", fast.error
    same_outcome(fast, by_pillow_alone(body, settings, monkeypatch))


def test_a_palette_with_transparency_is_flattened_as_pillow_flattens_it():
    body = FAST["palette_trns"]
    decoded = png_pixels.vips_picture(body, Image.open(io.BytesIO(body)))
    reference = Image.open(io.BytesIO(body)).convert("RGBA")
    assert decoded.mode == "RGBA" and np.array_equal(np.asarray(decoded), np.asarray(reference))


@pytest.mark.parametrize("name", sorted(PILLOW))
def test_files_only_pillow_decodes_the_same_go_to_pillow(name, monkeypatch):
    body = PILLOW[name]
    assert png_pixels.vips_bands(body, Image.open(io.BytesIO(body))) is None
    settings = SETTINGS[0]
    same_outcome(process_image(body, settings), by_pillow_alone(body, settings, monkeypatch))


@pytest.mark.parametrize("name", ["exif_orientation", "exif_after_the_pixels", "xmp_orientation"])
def test_an_oriented_png_is_still_turned_upright(name):
    result = process_image(PILLOW[name], ImageSettings(image_size=64, resize_mode="no"))
    assert (result.width, result.height) == (72, 96)  # orientation 6: a quarter turn


def _broken() -> dict[str, bytes]:
    whole = FAST["rgb"]
    idat = whole.index(b"IDAT")
    length = struct.unpack(">I", whole[idat - 4 : idat])[0]
    crc = idat + 4 + length
    flipped = bytearray(whole)
    flipped[idat + 4 + length // 2] ^= 0xFF  # the compressed pixels themselves
    bad_crc = bytearray(whole)
    bad_crc[crc] ^= 0xFF
    return {
        "cut_in_the_header": whole[:30],
        "cut_in_the_pixels": whole[: idat + length // 2],
        "cut_before_iend": whole[: whole.rindex(b"IEND") - 4],
        "damaged_pixels": bytes(flipped),
        "bad_idat_crc": bytes(bad_crc),
        "no_iend_crc": whole[:-4],
    }


@pytest.mark.parametrize("name", sorted(_broken()))
def test_a_broken_png_gets_the_status_pillow_gives_it(name, monkeypatch):
    body = _broken()[name]
    settings = SETTINGS[0]
    same_outcome(process_image(body, settings), by_pillow_alone(body, settings, monkeypatch))


def test_without_pyvips_every_png_goes_to_pillow(monkeypatch):
    monkeypatch.setattr(png_pixels, "pyvips", None)
    body = FAST["rgb"]
    assert png_pixels.vips_bands(body, Image.open(io.BytesIO(body))) is None
    assert process_image(body, SETTINGS[0]).status == "ok"


def test_only_chunk_headers_decide_whether_a_png_may_be_turned():
    body = FAST["rgb"]
    assert not png_pixels.may_be_turned(body)
    assert png_pixels.may_be_turned(with_chunk(body, b"zTXt", b"Raw profile type exif\0\0x"))
    assert png_pixels.may_be_turned(body[: body.rindex(b"IEND") - 4])  # no IEND: Pillow decides
    assert png_pixels.may_be_turned(body[:40])
