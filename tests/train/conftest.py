"""Small hand-made tars for the data-stream tests."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from wit_builder.shard.tar_format import end_of_archive, member


def jpeg(colour: tuple[int, int, int], size: int = 16) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def write_tar(path: Path, samples: list[dict[str, bytes]]) -> Path:
    """``samples`` are ``{"__key__": b"k", "jpg": ..., "txt": ...}``; members in that order."""
    pieces: list[bytes] = []
    for sample in samples:
        key = sample["__key__"].decode()
        for extension, data in sample.items():
            if extension != "__key__":
                pieces += member(f"{key}.{extension}", data)
    written = sum(len(p) for p in pieces)
    path.write_bytes(b"".join(pieces) + end_of_archive(written))
    return path


def write_numbered_shards(folder: Path, shards: int, per_shard: int, image: bytes | None = None) -> list[str]:
    """Shards whose captions are the sample numbers ("s3-7"), and a sizes.json."""
    folder.mkdir(parents=True, exist_ok=True)
    picture = image or jpeg((200, 30, 30))
    urls = []
    for s in range(shards):
        samples = [
            {"__key__": f"{s:03d}{i:04d}".encode(), "jpg": picture, "txt": f"s{s}-{i}".encode()}
            for i in range(per_shard)
        ]
        urls.append(str(write_tar(folder / f"{s:06d}.tar", samples)))
    (folder / "sizes.json").write_text(json.dumps({f"{s:06d}.tar": per_shard for s in range(shards)}))
    return urls
