"""Pillow-and-torch transforms: torchvision's crop rule, resize-then-centre-crop in one step."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from PIL import Image

from wit_builder.train.transforms import (
    OPENAI_MEAN,
    OPENAI_STD,
    TRAIN_SCALE,
    eval_view,
    normalise_pixels,
    random_resized_crop_box,
    to_normalised_tensor,
    train_crop,
    train_view,
)


@pytest.mark.parametrize("size", [(640, 480), (200, 900), (64, 64)])
def test_crop_boxes_cover_the_asked_area_inside_the_picture(size):
    width, height = size
    rng = random.Random(0)
    for _ in range(200):
        left, top, right, bottom = random_resized_crop_box(width, height, rng)
        assert 0 <= left < right <= width and 0 <= top < bottom <= height
        share = (right - left) * (bottom - top) / (width * height)
        assert TRAIN_SCALE[0] - 0.05 <= share <= 1.0 or size == (200, 900)  # very tall: centred fallback


def test_eval_view_equals_resizing_the_short_side_then_centre_cropping():
    y, x = np.mgrid[0:240, 0:400]
    smooth = np.stack([x * 255 / 400, y * 255 / 240, (x + y) * 255 / 640], axis=-1).astype(np.uint8)
    picture = Image.fromarray(smooth)
    ours = eval_view(picture, 64)
    resized = picture.resize((round(400 * 64 / 240), 64), Image.BICUBIC)
    left = (resized.width - 64) // 2
    two_step = to_normalised_tensor(resized.crop((left, 0, left + 64, 64)))
    assert ours.shape == (3, 64, 64)
    assert (ours - two_step).abs().mean() < 0.02  # the same view, up to one resampling


def test_normalisation_uses_clips_mean_and_std():
    grey = Image.new("RGB", (8, 8), (255, 0, 128))
    tensor = to_normalised_tensor(grey)
    expected = [(v / 255 - m) / s for v, m, s in zip((255, 0, 128), OPENAI_MEAN, OPENAI_STD, strict=True)]
    torch.testing.assert_close(tensor[:, 0, 0], torch.tensor(expected, dtype=torch.float32))


def test_train_view_is_reproducible_from_its_seed_and_handles_grey_and_alpha():
    picture = Image.new("LA", (90, 70), (30, 200))
    first = train_view(picture, 32, random.Random("seed"))
    assert first.shape == (3, 32, 32)
    torch.testing.assert_close(first, train_view(picture, 32, random.Random("seed")))


def _jpeg(width: int, height: int, seed: int = 0) -> bytes:
    """A photo-like JPEG (smooth gradients and texture), as stored in shards."""
    import io

    from wit_builder.synthetic.photos import photo_like

    picture = photo_like(np.random.default_rng(seed), max(width, height)).resize((width, height), Image.BICUBIC)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _crop_then_normalise(data: bytes, size: int, seed: str) -> torch.Tensor:
    import io

    with Image.open(io.BytesIO(data)) as picture:
        crop = train_crop(picture, size, random.Random(seed))
    assert crop.dtype == torch.uint8 and crop.shape == (3, size, size)
    return normalise_pixels(crop.unsqueeze(0))[0]


def _levels(ours: torch.Tensor, plain: torch.Tensor) -> torch.Tensor:
    """Per-value differences of two normalised images, in levels of 255."""
    return (ours - plain).abs().mul(torch.tensor(OPENAI_STD).view(3, 1, 1)).mul(255)


def _plain(data: bytes, size: int, seed: str) -> torch.Tensor:
    import io

    with Image.open(io.BytesIO(data)) as picture:
        return train_view(picture, size, random.Random(seed))


@pytest.mark.parametrize(
    ("stored", "size"), [((256, 256), 224), ((341, 256), 224), ((256, 341), 160), ((64, 48), 32), ((200, 150), 224)]
)
def test_uint8_crops_normalised_on_the_device_match_the_plain_pillow_path(stored, size):
    """Stored at less than twice the crop (the last one is enlarged), nothing is decoded at
    reduced scale: the same box, and torch's antialiased bicubic is PIL's kernel, so the pixels
    agree to within rounding: at most 3 levels of 255, under 0.1 on average."""
    data = _jpeg(*stored)
    for seed in ("a", "b", "c"):
        levels = _levels(_crop_then_normalise(data, size, seed), _plain(data, size, seed))
        assert levels.max() <= 3.01 and levels.mean() < 0.1, (levels.max(), levels.mean())


@pytest.mark.parametrize(("stored", "size"), [((1024, 768), 224), ((900, 1200), 64)])
def test_a_large_jpeg_is_decoded_at_reduced_scale_and_looks_the_same(stored, size):
    """Draft mode: the crop keeps its box and its meaning; pixels differ by rounding of the scaling."""
    import io

    data = _jpeg(*stored)
    with Image.open(io.BytesIO(data)) as picture:
        train_crop(picture, size, random.Random("a"))
        assert picture.size[0] < stored[0]  # decoded at 1/2, 1/4 or 1/8
        assert min(picture.size) * TRAIN_SCALE[0] ** 0.5 * 0.75 >= size * 0.99  # still enough pixels for the crop
    for seed in ("a", "b"):
        levels = _levels(_crop_then_normalise(data, size, seed), _plain(data, size, seed))
        assert levels.mean() < 3.0 and torch.quantile(levels.flatten(), 0.99) < 16  # of 255


def test_normalise_pixels_keeps_the_layout_it_is_given_out_of_the_answer():
    batch = torch.randint(0, 256, (2, 8, 8, 3), dtype=torch.uint8)
    channels_last = batch.permute(0, 3, 1, 2)
    expected = torch.stack([to_normalised_tensor(Image.fromarray(image.numpy())) for image in batch])
    result = normalise_pixels(channels_last)
    assert result.is_contiguous() and result.dtype == torch.float32
    torch.testing.assert_close(result, expected, rtol=0, atol=0)
