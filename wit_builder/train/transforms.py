"""Image transforms with Pillow and torch (no torchvision): CLIP's train and eval views.

Crop and resize are one Pillow call (``resize`` with a ``box``), so the full-size picture is
never resized before cropping. Randomness comes from the ``random.Random`` passed in, which the
data stream seeds per sample, so a resumed run sees the same crops as an uninterrupted one.

The training stream splits the view in two (docs/training.md, "Data"): ``train_crop`` in the
data-loader workers gives the crop as uint8 pixels (a quarter of the bytes of float32 to pass
between processes and to the GPU), and ``normalise_pixels`` turns a whole batch into CLIP's
normalised float32 on the training device. ``train_view`` is both in one, the plain reference.
"""

from __future__ import annotations

import math
import random

import numpy as np
import torch
import torch.nn.functional as F
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
    """A random resized square crop, bicubic, normalised: the plain Pillow path."""
    image = image.convert("RGB")
    box = random_resized_crop_box(image.width, image.height, rng)
    return to_normalised_tensor(image.resize((size, size), Image.BICUBIC, box=box))


def train_crop(image: Image.Image, size: int, rng: random.Random) -> torch.Tensor:
    """``train_view``'s crop as uint8 pixels ``(3, size, size)`` (channels last in memory), not
    yet normalised: the same box from the same ``rng``, resized by torch's antialiased bicubic
    on uint8 (PIL's kernel, a = -0.5, vectorised: ~5x faster than Pillow's resize here, and
    within 3 levels of 255 of it, under 0.1 on average; tested).

    A JPEG is decoded at the smallest scale its decoder offers (1/2, 1/4, 1/8: Pillow's draft
    mode, scaling in the DCT) that still leaves the crop at least ``size`` pixels a side, and
    the box is scaled to match (outward to whole pixels); a picture stored at less than twice
    the crop is decoded whole."""
    width, height = image.size
    left, top, right, bottom = random_resized_crop_box(width, height, rng)
    if image.format == "JPEG":  # draft() does nothing once the picture is loaded
        image.draft("RGB", (math.ceil(width * size / (right - left)), math.ceil(height * size / (bottom - top))))
        if image.size != (width, height):
            x_scale, y_scale = image.width / width, image.height / height
            left, top = math.floor(left * x_scale), math.floor(top * y_scale)
            right, bottom = min(image.width, math.ceil(right * x_scale)), min(image.height, math.ceil(bottom * y_scale))
    rgb = image if image.mode == "RGB" else image.convert("RGB")  # convert() of an RGB picture copies it
    pixels = torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8).view(rgb.height, rgb.width, 3)
    # Copied out channels last first: torch's uint8 kernel is vectorised for that layout (half
    # the time of resizing the strided view), and so is its output, which then copies as a block.
    region = pixels[top:bottom, left:right].permute(2, 0, 1).unsqueeze(0).contiguous(memory_format=torch.channels_last)
    return F.interpolate(region, size=(size, size), mode="bicubic", antialias=True)[0]


def normalise_pixels(pixels: torch.Tensor) -> torch.Tensor:
    """A uint8 batch ``(B, 3, H, W)`` (any memory layout, any device) to CLIP's normalised
    float32, contiguous: the same numbers ``to_normalised_tensor`` gives each picture."""
    mean = torch.tensor(OPENAI_MEAN, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(OPENAI_STD, device=pixels.device).view(1, 3, 1, 1)
    # Made contiguous while still uint8 (a quarter of the bytes to move), then the float
    # arithmetic runs over contiguous memory: half the time of normalising the channels-last view.
    return pixels.contiguous().float().div_(255).sub_(mean).div_(std)


def eval_view(image: Image.Image, size: int) -> torch.Tensor:
    """The short side resized to ``size`` and the centre cropped, bicubic, normalised."""
    image = image.convert("RGB")
    box = centre_square_box(image.width, image.height)
    return to_normalised_tensor(image.resize((size, size), Image.BICUBIC, box=box))
