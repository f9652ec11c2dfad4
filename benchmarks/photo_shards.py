"""WebDataset shards of photo-like JPEGs with captions, for timing the trainer's data stream and
its step on data that costs what real shards cost to read.

The pictures are ``photos.photo_like`` (detail at every scale, ~33 KB at 256 px and
quality 95, as web photos weigh after the download stage's resizing), a quarter landscape and
a quarter portrait (4:3), so crops and draft-mode decoding see real shapes. Captions are 8-20
words. 256 distinct pictures are reused under different keys: decoding one costs the same.
Each sample also has the ``KEY.json`` the shard stage writes (uid, URL, caption, the queries
matched, sizes, hashes, provenance: about 1 KB), which every reader has to read past and
online balancing parses.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from wit_builder.synthetic.photos import photo_like

WORDS = ("red", "circle", "a", "the", "on", "beach", "dog", "sunset", "city", "street", "photo", "of", "blue",
         "house", "mountain", "lake", "people", "walking", "old", "car", "market", "night", "river")  # fmt: skip
DISTINCT = 256
STOPWORDS = frozenset({"a", "the", "on", "of"})


def caption_matches(caption: str) -> list[str]:
    """The queries a caption matches: its words, less the stopwords (the benchmark's query list)."""
    return sorted(set(caption.split()) - STOPWORDS)


def key_json(index: int, caption: str, picture: bytes, size: int) -> bytes:
    """A ``KEY.json`` as the shard stage writes it, with its provenance."""
    uid = hashlib.sha256(f"https://images.example.org/{index}.jpg".encode()).hexdigest()[:32]
    consent = [{"file": name, "url": f"https://images.example.org/{name}", "outcome": "read", "http_status": 200,
                "sha256": hashlib.sha256(name.encode()).hexdigest(), "fetched_at": "2026-01-01T00:00:00Z"}
               for name in ("robots.txt", ".well-known/tdmrep.json", "ai.txt")]  # fmt: skip
    document = {
        "uid": uid, "key": f"{index:09d}", "url": f"https://images.example.org/{index}.jpg",
        "page_url": f"https://www.example.org/article/{index // 7}", "caption": caption,
        "matches": caption_matches(caption), "source": "CC-MAIN-2025-51", "sha256": hashlib.sha256(picture).hexdigest(),
        "phash": index * 2654435761 % 2**63, "width": size, "height": size, "original_width": 4 * size,
        "original_height": 3 * size, "faces_blurred": 0, "fetched_at": "2026-01-01T00:00:00Z",
        "body_sha256": hashlib.sha256(picture[::-1]).hexdigest(), "consent": consent,
    }  # fmt: skip
    return json.dumps(document, separators=(",", ":")).encode()


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
    """``shards`` tars of ``KEY.jpg``, ``KEY.json`` and ``KEY.txt`` under ``root``; their paths, in order."""
    pictures = photo_jpegs(min(samples, DISTINCT), stored_size, seed)
    words = random.Random(seed)
    urls = []
    per_shard = -(-samples // shards)
    for shard in range(shards):
        path = Path(root) / f"{shard:06d}.tar"
        with tarfile.open(path, "w") as tar:
            for index in range(shard * per_shard, min(samples, (shard + 1) * per_shard)):
                caption = random_caption(words)
                picture = pictures[index % len(pictures)]
                for name, data in (
                    (f"{index:09d}.jpg", picture),
                    (f"{index:09d}.json", key_json(index, caption, picture, stored_size)),
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
