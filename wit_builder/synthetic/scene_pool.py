"""Data a contrastive model can learn from on a CPU: scenes of coloured shapes and their captions.

``write_scene_pool`` writes a download-like folder (``samples/part-NNNNN.parquet``) whose images
are rendered scenes and whose captions say what is drawn, so the shard stage turns it into real
training shards in seconds. ``write_zeroshot_folder`` writes an ImageNet-style folder of
class-named subfolders (one class per colour, each picture one large shape of that colour), and
``ZEROSHOT_TEMPLATES`` are prompts in the captions' own words. Together they let a test check
that the trainer learns: retrieval on held-out shards, zero-shot classification of new pictures.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa

from wit_builder.schemas import table_from_rows
from wit_builder.synthetic.sample_pool import write_download_folder
from wit_builder.synthetic.scenes import Scene, ShapeGroup, encode_image, make_scene, render_scene
from wit_builder.synthetic.seeding import python_rng
from wit_builder.synthetic.vocabulary import COLOURS, SHAPES

ZEROSHOT_BACKGROUNDS = ("white", "black", "grey")
# Every shape on every zero-shot background: averaged over the ensemble, what the prompts of
# two classes differ in is the colour alone, not the shape or the background.
ZEROSHOT_TEMPLATES = tuple(
    f"a picture of a large {{}} {shape} on a {background} background"
    for shape in SHAPES
    for background in ZEROSHOT_BACKGROUNDS
)


def _scene_rows(count: int, seed: int, image_size: int) -> tuple[list[dict], list[bytes]]:
    rows, images = [], []
    for index in range(count):
        scene = make_scene(seed, index)
        images.append(encode_image(render_scene(scene, image_size, image_size), "jpg"))
        uid = hashlib.blake2b(f"scene:{seed}:{index}".encode(), digest_size=16).hexdigest()
        words = scene.caption.lower().split()
        matches = sorted({w for w in words if w in COLOURS or w.rstrip("s") in SHAPES})
        rows.append(
            {
                "uid": uid,
                "url": f"http://scenes.example/{seed}/{index}.jpg",
                "text": scene.caption,
                "page_url": None,
                "source": "scene-pool",
                "matches": matches or ["picture"],
            }
        )
    return rows, images


def write_scene_pool(out_dir: str | Path, samples: int, files: int = 4, seed: int = 0, image_size: int = 64) -> Path:
    """A download-like folder of ``samples`` rendered scenes (JPEG) with their captions."""
    out = Path(out_dir)
    rows, images = _scene_rows(samples, seed, image_size)
    table = table_from_rows(rows, "candidates")
    columns = {
        "image": pa.array(images, pa.binary()),
        "image_format": pa.array(["jpg"] * samples),
        "width": pa.array([image_size] * samples, pa.int32()),
        "height": pa.array([image_size] * samples, pa.int32()),
        "original_width": pa.array([image_size] * samples, pa.int32()),
        "original_height": pa.array([image_size] * samples, pa.int32()),
        "original_bytes": pa.array([len(image) for image in images], pa.int64()),
        "sha256": pa.array([hashlib.sha256(image).hexdigest() for image in images]),
        "phash": pa.array(np.zeros(samples, np.int64), pa.int64()),
        "colour_grid": pa.array([bytes(48)] * samples, pa.binary()),
    }
    return write_download_folder(out, table, columns, files)


def zeroshot_scene(colour: str, seed: int, index: int) -> Scene:
    """One large shape of ``colour`` in a random cell, on a background of another colour."""
    rng = python_rng(seed, "zeroshot", colour, index)
    background = rng.choice([b for b in ZEROSHOT_BACKGROUNDS if b != colour])
    cell = (rng.randrange(3), rng.randrange(3))
    group = ShapeGroup(shape=rng.choice(SHAPES), colour=colour, count=1, cell=cell, large=True)
    return Scene(background, (group,), "a picture of")


def write_zeroshot_folder(out_dir: str | Path, per_class: int = 20, seed: int = 0, image_size: int = 64) -> Path:
    """``out_dir/<colour>/NNNN.jpg``: ImageNet's layout, one class per colour name."""
    out = Path(out_dir)
    for colour in COLOURS:
        (out / colour).mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            image = render_scene(zeroshot_scene(colour, seed, index), image_size, image_size)
            (out / colour / f"{index:04d}.jpg").write_bytes(encode_image(image, "jpg"))
    return out


def write_templates(path: str | Path) -> Path:
    """The prompt templates above, one per line, as ``--templates FILE`` takes them."""
    path = Path(path)
    path.write_text("\n".join(ZEROSHOT_TEMPLATES) + "\n")
    return path
