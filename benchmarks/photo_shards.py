"""WebDataset shards of photo-like JPEGs with captions, for timing the trainer's data stream and
its step on data that costs what real shards cost to read.

The pictures are ``photos.photo_like`` (detail at every scale, ~33 KB at 256 px and
quality 95, as web photos weigh after the download stage's resizing), a quarter landscape and
a quarter portrait (4:3), so crops and draft-mode decoding see real shapes. Captions are 8-20
words. 256 distinct pictures are reused under different keys: decoding one costs the same.
"""

from __future__ import annotations

import io
import random
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from wit_builder.synthetic.photos import photo_like

WORDS = ("red", "circle", "a", "the", "on", "beach", "dog", "sunset", "city", "street", "photo", "of", "blue",
         "house", "mountain", "lake", "people", "walking", "old", "car", "market", "night", "river")  # fmt: skip
DISTINCT = 256


def random_caption(rng: random.Random) -> str:
    """8-20 words of ``WORDS``."""
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20)))


def photo_jpegs(count: int, stored_size: int, seed: int = 0) -> list[bytes]:
    """``count`` JPEGs at quality 95, ``stored_size`` px on the short side, every 4th landscape
    and every 4th portrait."""
    rng = np.random.default_rng(seed)
    pictures = []
    for index in range(count):
        picture = photo_like(rng, stored_size)
        if index % 4 == 1:
            picture = picture.resize((stored_size * 4 // 3, stored_size), Image.BICUBIC)
        elif index % 4 == 2:
            picture = picture.resize((stored_size, stored_size * 4 // 3), Image.BICUBIC)
        buffer = io.BytesIO()
        picture.save(buffer, "JPEG", quality=95)
        pictures.append(buffer.getvalue())
    return pictures


def write_photo_shards(root: Path, samples: int, shards: int, stored_size: int, seed: int = 0) -> list[str]:
    """``shards`` tars of ``KEY.jpg`` + ``KEY.txt`` under ``root``; their paths, in order."""
    pictures = photo_jpegs(min(samples, DISTINCT), stored_size, seed)
    words = random.Random(seed)
    urls = []
    per_shard = -(-samples // shards)
    for shard in range(shards):
        path = Path(root) / f"{shard:06d}.tar"
        with tarfile.open(path, "w") as tar:
            for index in range(shard * per_shard, min(samples, (shard + 1) * per_shard)):
                caption = random_caption(words)
                for name, data in (
                    (f"{index:09d}.jpg", pictures[index % len(pictures)]),
                    (f"{index:09d}.txt", caption.encode()),
                ):
                    info = tarfile.TarInfo(name)
                    info.size, info.mtime = len(data), 0
                    tar.addfile(info, io.BytesIO(data))
        urls.append(str(path))
    return urls


def shard_captions(urls: list[str]) -> list[str]:
    """Every caption in the shards, for training a tokenizer on them."""
    captions = []
    for url in urls:
        with tarfile.open(url) as tar:
            captions += [tar.extractfile(m).read().decode() for m in tar if m.name.endswith(".txt")]
    return captions
