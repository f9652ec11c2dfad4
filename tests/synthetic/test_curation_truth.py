"""The synthetic world's ground truth for curation by model: misaligned captions and scenes
re-rendered under other URLs, recorded in ``truth/images.parquet``; a world without them is
the same world as before."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
from PIL import Image

from wit_builder.download.images import perceptual_hash
from wit_builder.synthetic import SyntheticWorld, WorldConfig
from wit_builder.synthetic.web import image_bytes

FAULTY = WorldConfig(seed=5, misaligned_share=0.3, near_copy_groups=12, near_copies=3)


def test_near_copies_are_the_same_scene_redrawn_beyond_a_perceptual_hash():
    catalog = SyntheticWorld(FAULTY).catalog
    copies = [image for image in catalog.images if image.copy_of is not None]
    assert len(copies) == 12 * 3 and [c.image_id for c in copies] == list(range(600, 636))
    distances = []
    for copy in copies:
        original = catalog.images[copy.copy_of]
        assert copy.scene == original.scene and copy.fault is None and image_bytes(copy) != image_bytes(original)
        a, b = (Image.open(io.BytesIO(image_bytes(i))).convert("RGB") for i in (original, copy))
        distances.append(bin(perceptual_hash(a) ^ perceptual_hash(b)).count("1"))
    assert sorted(distances)[len(distances) // 2] > 4  # most are beyond download's near-dedupe radius


def test_misaligned_images_carry_another_caption_everywhere():
    catalog = SyntheticWorld(FAULTY).catalog
    misaligned = catalog.misaligned
    plain = [i for i in catalog.images if i.fault is None and i.copy_of is None]
    assert abs(len(misaligned) - 0.3 * len(plain)) <= 0.3 * len(plain) * 0.2
    for image_id, caption in misaligned.items():
        image = catalog.images[image_id]
        assert caption != image.caption and catalog.shown_caption(image) == caption
    items = [item for page in catalog.pages for item in page.images if item.image_id in misaligned]
    assert items and all(catalog.images[item.image_id].caption not in item.alt for item in items)


def test_the_truth_file_says_which(tmp_path):
    layout = SyntheticWorld(FAULTY).write(tmp_path / "world")
    table = pq.read_table(layout.truth_images).to_pylist()
    assert sum(row["misaligned"] for row in table) == len(SyntheticWorld(FAULTY).catalog.misaligned)
    groups = {}
    for row in table:
        if row["near_copy_group"] >= 0:
            groups.setdefault(row["near_copy_group"], []).append(row["image_id"])
    assert len(groups) == 12 and all(len(members) == 4 for members in groups.values())  # the original and 3 copies


def test_a_world_without_them_is_the_world_it_was(tmp_path):
    plain, knobs_off = WorldConfig(seed=5), WorldConfig(seed=5, misaligned_share=0.0, near_copy_groups=0)
    assert SyntheticWorld(plain).catalog.images == SyntheticWorld(knobs_off).catalog.images
    layout = SyntheticWorld(plain).write(tmp_path / "world")
    assert "misaligned" not in pq.read_schema(layout.truth_images).names
