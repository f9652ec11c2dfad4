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
    random_resized_crop_box,
    to_normalised_tensor,
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
