"""Pictures planted in the synthetic web for the collecting-responsibly checks.

The world's scenes are flat shapes, which no perceptual hash can tell apart (a PDQ hash of a
plain background is "uninformative"); the checks that compare pictures need photo-like ones.
So the web also serves, under ``/planted/NAME`` on its first host, photo-like pictures whose
fate is known in advance:

- **evaluation copies**: an evaluation set of photo-like originals (written as PNG files), one
  of them held back, and on the web one copy of each of the others, each changed in one of the
  ways a near copy is required to survive (``EVAL_TRANSFORMS``): expected ``eval_duplicate``;
- **blocklisted pictures**: one named by a SHA-256 list, one by an MD5 list, one by a PDQ list
  whose hash is of the original while the web serves it re-encoded and resized; expected
  ``blocklisted``; one more is named by a URL list, which harvest applies;
- **faces**: pictures served with face boxes in their URL list; expected ``ok``, with the boxes
  blurred;
- **plain**: unrelated photo-like pictures, expected ``ok``: no list or set may catch them.

``PlantedSet.write`` writes the evaluation set, the blocklists and the URL list (Parquet, with
a ``face_bboxes`` column, as DataComp's pools have) under ``WORLD/planted/``.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageOps

from wit_builder.synthetic.photos import photo_like

SIDE = 384
EVAL_TRANSFORMS = ("half", "double", "jpeg_q40", "crop_5pc", "border")
# Where a crop keeps the picture: "crop_5pc" is 95% of each side kept at the top-left corner.
CROP_ANCHORS = ("top_left", "top_right", "bottom_left", "bottom_right", "centre")
CROPS = tuple(
    f"crop_{cut}pc_{anchor}" for cut in (5, 10) for anchor in CROP_ANCHORS if (cut, anchor) != (5, "top_left")
)
# Every change a near copy must survive, as the decontamination benchmark and tests apply them:
# every corner and the centre, at 95% and 90%.
NEAR_COPY_TRANSFORMS = (*EVAL_TRANSFORMS, *CROPS, "letterbox")
FACE_BOXES: tuple[tuple[tuple[float, float, float, float], ...], ...] = (
    ((0.30, 0.20, 0.62, 0.62),),
    ((0.08, 0.10, 0.30, 0.40), (0.55, 0.35, 0.90, 0.85)),
    ((0.40, 0.40, 0.70, 0.75),),
)
PLAIN = 2


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def transformed(image: Image.Image, how: str) -> bytes:
    """The served bytes of a near copy of ``image`` made in one of ``EVAL_TRANSFORMS``."""
    width, height = image.size
    if how == "half":
        return _jpeg(image.resize((width // 2, height // 2), Image.Resampling.BOX))
    if how == "double":
        return _jpeg(image.resize((width * 2, height * 2), Image.Resampling.LANCZOS))
    if how == "jpeg_q40":
        return _jpeg(image, 40)
    if how == "crop_5pc":  # 5% of each side's length cut away, at one corner
        return _jpeg(cropped(image, 0.95, "top_left"))
    if how.startswith("crop_"):  # crop_10pc_bottom_right: 90% of each side kept at that corner
        _, cut, anchor = how.split("_", 2)
        return _jpeg(cropped(image, 1 - int(cut.removesuffix("pc")) / 100, anchor))
    if how == "border":
        return _jpeg(ImageOps.expand(image, border=round(0.06 * width), fill=(255, 255, 255)))
    if how == "letterbox":  # black bars above and below, as a video frame grab has
        return _jpeg(ImageOps.expand(image, border=(0, round(0.12 * height)), fill=(0, 0, 0)))
    raise ValueError(f"unknown transform {how!r}")


def cropped(image: Image.Image, keep: float, anchor: str) -> Image.Image:
    """``image`` cut to ``keep`` of each side, the part kept at ``anchor`` (``CROP_ANCHORS``)."""
    width, height = image.size
    kept_w, kept_h = round(width * keep), round(height * keep)
    x = {"top_left": 0, "bottom_left": 0, "top_right": width - kept_w, "bottom_right": width - kept_w}
    y = {"top_left": 0, "top_right": 0, "bottom_left": height - kept_h, "bottom_right": height - kept_h}
    left, top = x.get(anchor, (width - kept_w) // 2), y.get(anchor, (height - kept_h) // 2)
    if anchor not in CROP_ANCHORS:
        raise ValueError(f"unknown crop anchor {anchor!r}")
    return image.crop((left, top, left + kept_w, top + kept_h))


def random_near_copy(image: Image.Image, rng: np.random.Generator) -> tuple[str, bytes]:
    """(its kind, its bytes): a near copy of ``image`` drawn at random, as the web makes them: a
    crop at any corner or the centre keeping 90-97% of each side, a rescale by 0.4-2.0, a plain
    border of 2-10% in white, black or grey, or a JPEG at quality 30-95."""
    kind = str(rng.choice(["crop", "scale", "border", "quality"]))
    width, height = image.size
    if kind == "crop":
        anchor = str(rng.choice(CROP_ANCHORS))
        return f"crop at {anchor.replace('_', ' ')}", _jpeg(cropped(image, float(rng.uniform(0.90, 0.97)), anchor))
    if kind == "scale":
        factor = float(rng.uniform(0.4, 2.0))
        size = (max(16, round(width * factor)), max(16, round(height * factor)))
        return "rescale", _jpeg(image.resize(size, Image.Resampling.LANCZOS))
    if kind == "border":
        colour = tuple(int(v) for v in rng.choice([(255, 255, 255), (0, 0, 0), (128, 128, 128)]))
        return "border", _jpeg(
            ImageOps.expand(image, border=round(float(rng.uniform(0.02, 0.10)) * width), fill=colour)
        )
    return "jpeg quality", _jpeg(image, int(rng.integers(30, 96)))


def _pdq_hex(image: Image.Image) -> str:
    """The PDQ hash a hash list would hold for ``image``: 64 hex digits."""
    import pdqhash

    bits, _ = pdqhash.compute(np.ascontiguousarray(np.asarray(image.convert("RGB"))))
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


@dataclass(frozen=True)
class Planted:
    """One picture on the web: its file name under ``/planted/``, its bytes, what download should
    make of it (``expected``) and, for faces, its boxes."""

    name: str
    data: bytes
    expected: str
    boxes: tuple[tuple[float, float, float, float], ...] | None = None
    blocklist: str | None = None  # the list that names it, for blocklisted ones


@dataclass(frozen=True)
class PlantedLayout:
    root: Path
    eval_set: Path
    blocklists: dict[str, Path]  # name -> file
    pairs: Path


class PlantedSet:
    """The planted pictures of a world with ``seed``."""

    def __init__(self, seed: int):
        self.seed = seed

    @cached_property
    def _rng(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, 2409])

    @cached_property
    def eval_originals(self) -> list[Image.Image]:
        """The evaluation set: one original per transform, and one held back (never served)."""
        return [photo_like(self._rng, SIDE) for _ in range(len(EVAL_TRANSFORMS) + 1)]

    @cached_property
    def listed_originals(self) -> dict[str, Image.Image]:
        return {kind: photo_like(self._rng, SIDE) for kind in ("sha256", "md5", "pdq", "url")}

    @cached_property
    def pictures(self) -> list[Planted]:
        pictures = [
            Planted(f"eval-copy-{how}.jpg", transformed(self.eval_originals[k], how), "eval_duplicate")
            for k, how in enumerate(EVAL_TRANSFORMS)
        ]
        listed = self.listed_originals
        pictures.append(Planted("listed-sha256.jpg", _jpeg(listed["sha256"]), "blocklisted", blocklist="demo-sha256"))
        pictures.append(Planted("listed-md5.jpg", _jpeg(listed["md5"]), "blocklisted", blocklist="demo-md5"))
        resized = listed["pdq"].resize((round(SIDE * 0.8), round(SIDE * 0.8)), Image.Resampling.BOX)
        pictures.append(Planted("listed-pdq.jpg", _jpeg(resized, 50), "blocklisted", blocklist="demo-pdq"))
        pictures.append(Planted("listed-url.jpg", _jpeg(listed["url"]), "harvest:blocklisted", blocklist="demo-urls"))
        for k, boxes in enumerate(FACE_BOXES):
            pictures.append(Planted(f"face-{k}.jpg", _jpeg(photo_like(self._rng, SIDE)), "ok", boxes=boxes))
        for k in range(PLAIN):
            pictures.append(Planted(f"plain-{k}.jpg", _jpeg(photo_like(self._rng, SIDE)), "ok"))
        return pictures

    @cached_property
    def files(self) -> dict[str, bytes]:
        """What the web serves under ``/planted/``, by file name."""
        return {picture.name: picture.data for picture in self.pictures}

    @staticmethod
    def layout(root: str | Path) -> PlantedLayout:
        """Where ``write(root, ...)`` puts each file."""
        root = Path(root)
        names = ("demo-sha256", "demo-md5", "demo-pdq", "demo-urls")
        return PlantedLayout(
            root, root / "eval_set", {n: root / "blocklists" / f"{n}.txt" for n in names}, root / "pairs.parquet"
        )

    @staticmethod
    def url(base_urls: list[str], name: str) -> str:
        return f"{base_urls[0]}/planted/{name}"

    def write(self, root: str | Path, base_urls: list[str], captions: list[str]) -> PlantedLayout:
        """The evaluation set, the blocklists and the URL list under ``root``; ``captions`` (one
        a picture, each matching some query) become the pictures' captions."""
        root = Path(root)
        eval_set = root / "eval_set"
        eval_set.mkdir(parents=True, exist_ok=True)
        for k, original in enumerate(self.eval_originals):
            original.save(eval_set / f"eval-{k}.png")
        listed = {picture.blocklist: picture for picture in self.pictures if picture.blocklist}
        lists = root / "blocklists"
        lists.mkdir(exist_ok=True)
        entries = {
            "demo-sha256": ("sha256", hashlib.sha256(listed["demo-sha256"].data).hexdigest()),
            "demo-md5": ("md5", hashlib.md5(listed["demo-md5"].data, usedforsecurity=False).hexdigest()),
            "demo-pdq": ("pdq", _pdq_hex(self.listed_originals["pdq"])),
            "demo-urls": ("url", self.url(base_urls, "listed-url.jpg")),
        }
        blocklists = {}
        for name, (kind, entry) in entries.items():
            path = lists / f"{name}.txt"
            path.write_text(f"# kind: {kind}\n# name: {name}\n{entry}\n")
            blocklists[name] = path
        if len(captions) < len(self.pictures):
            raise ValueError(f"{len(self.pictures)} captions needed, {len(captions)} given")
        table = pa.table(
            {
                "url": [self.url(base_urls, picture.name) for picture in self.pictures],
                "caption": captions[: len(self.pictures)],
                "face_bboxes": pa.array(
                    [[list(box) for box in picture.boxes] if picture.boxes else None for picture in self.pictures],
                    pa.list_(pa.list_(pa.float64())),
                ),
            }
        )
        pairs = root / "pairs.parquet"
        pq.write_table(table, pairs)
        truth = {self.url(base_urls, p.name): {"expected": p.expected, "boxes": p.boxes} for p in self.pictures}
        (root / "truth.json").write_text(json.dumps(truth, indent=2, sort_keys=True) + "\n")
        return PlantedLayout(root, eval_set, blocklists, pairs)
