"""Image transforms with Pillow and torch (no torchvision): CLIP's train and eval views.

Crop and resize are one Pillow call (``resize`` with a ``box``), so the full-size picture is
never resized before cropping. Randomness comes from the ``random.Random`` passed in, which the
data stream seeds per sample, so a resumed run sees the same crops as an uninterrupted one.
"""

from __future__ import annotations

import math
import random

import numpy as np
import torch
from PIL import Image

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
TRAIN_SCALE = (0.9, 1.0)  # open_clip's default crop scale for CLIP training
RATIO = (3 / 4, 4 / 3)


def random_resized_crop_box(width: int, height: int, rng: random.Random, scale=TRAIN_SCALE, ratio=RATIO):
    """A crop box ``(left, top, right, bottom)`` covering ``scale`` of the area at an aspect in
    ``ratio`` (torchvision's RandomResizedCrop rule: ten tries, then a centred crop)."""
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            left = rng.randint(0, width - w)
            top = rng.randint(0, height - h)
            return left, top, left + w, top + h
    aspect = width / height
    if aspect < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif aspect > ratio[1]:
        w, h = round(height * ratio[1]), height
    else:
        w, h = width, height
    left, top = (width - w) // 2, (height - h) // 2
    return left, top, left + w, top + h


def centre_square_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The centred square of side ``min(width, height)``: resizing it to ``size`` is the same as
    resizing the short side to ``size`` and centre-cropping."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def to_normalised_tensor(image: Image.Image) -> torch.Tensor:
    """``(3, H, W)`` float32, scaled to [0, 1] and normalised with CLIP's mean and std."""
    array = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float().div_(255)
    mean = torch.tensor(OPENAI_MEAN).view(3, 1, 1)
    std = torch.tensor(OPENAI_STD).view(3, 1, 1)
    return array.sub_(mean).div_(std)


def train_view(image: Image.Image, size: int, rng: random.Random) -> torch.Tensor:
    """A random resized square crop, bicubic, normalised."""
    image = image.convert("RGB")
    box = random_resized_crop_box(image.width, image.height, rng)
    return to_normalised_tensor(image.resize((size, size), Image.BICUBIC, box=box))


def eval_view(image: Image.Image, size: int) -> torch.Tensor:
    """The short side resized to ``size`` and the centre cropped, bicubic, normalised."""
    image = image.convert("RGB")
    box = centre_square_box(image.width, image.height)
    return to_normalised_tensor(image.resize((size, size), Image.BICUBIC, box=box))
