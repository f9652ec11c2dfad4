"""Scenes of coloured shapes, their captions and their images.

A scene is a background colour and a few groups of identical shapes placed in the cells of a
3×3 grid. The caption says exactly what is drawn (colour, shape, count, position), so a
contrastive model trained on the synthetic web has a real signal to learn.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

from wit_builder.synthetic.seeding import python_rng
from wit_builder.synthetic.vocabulary import COLOURS, COUNT_WORDS, SHAPES

RGB = {
    "red": (220, 30, 40), "green": (40, 170, 60), "blue": (40, 70, 210), "yellow": (240, 220, 40),
    "orange": (245, 140, 20), "purple": (130, 50, 170), "black": (15, 15, 15),
    "white": (245, 245, 245), "grey": (128, 128, 128), "pink": (245, 150, 190),
}  # fmt: skip
CELLS = {
    (0, 0): "in the top left corner", (1, 0): "at the top", (2, 0): "in the top right corner",
    (0, 1): "on the left", (1, 1): "in the centre", (2, 1): "on the right",
    (0, 2): "in the bottom left corner", (1, 2): "at the bottom", (2, 2): "in the bottom right corner",
}  # fmt: skip
PLURALS = {"cross": "crosses"}
OPENINGS = ("a picture of", "a drawing of", "photo of", "an image showing", "", "")


@dataclass(frozen=True)
class ShapeGroup:
    shape: str
    colour: str
    count: int
    cell: tuple[int, int]
    large: bool


@dataclass(frozen=True)
class Scene:
    background: str
    groups: tuple[ShapeGroup, ...]
    opening: str

    @property
    def caption(self) -> str:
        """What is drawn, in plain English: "a drawing of two blue squares on the left, ..."."""
        phrases = []
        for group in self.groups:
            size = "large " if group.large else ""
            if group.count == 1:
                described = f"{size}{group.colour} {group.shape}"
                noun = f"{'an' if described[0] in 'aeiou' else 'a'} {described}"
            else:
                plural = PLURALS.get(group.shape, group.shape + "s")
                noun = f"{COUNT_WORDS[group.count - 1]} {size}{group.colour} {plural}"
            phrases.append(f"{noun} {CELLS[group.cell]}")
        body = ", ".join(phrases[:-1]) + (" and " if len(phrases) > 1 else "") + phrases[-1]
        text = f"{self.opening} {body} on a {self.background} background".strip()
        return text[0].upper() + text[1:]


def make_scene(seed: int, image_id: int) -> Scene:
    """The scene of image ``image_id``: 1–3 groups in distinct cells, colours unlike the background."""
    rng = python_rng(seed, "scene", image_id)
    background = rng.choice(("white", "white", "black", "grey", "yellow", "pink"))
    cells = rng.sample(sorted(CELLS), rng.randint(1, 3))
    groups = tuple(
        ShapeGroup(
            shape=rng.choice(SHAPES),
            colour=rng.choice([c for c in COLOURS if c != background]),
            count=rng.choice((1, 1, 1, 2, 3)),
            cell=cell,
            large=rng.random() < 0.3,
        )
        for cell in cells
    )
    return Scene(background, groups, rng.choice(OPENINGS))


def _polygon(cx: float, cy: float, radius: float, points: int, rotation: float, inner: float = 1.0) -> list[tuple]:
    """Vertices of a regular polygon, or of a star when ``inner`` < 1."""
    vertices = []
    step = math.pi / points if inner < 1 else 2 * math.pi / points
    for k in range(points * (2 if inner < 1 else 1)):
        r = radius * (inner if inner < 1 and k % 2 else 1)
        angle = rotation + k * step
        vertices.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    return vertices


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, fill: tuple) -> None:
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    elif shape == "ring":
        draw.ellipse(box, outline=fill, width=max(1, int(r / 3)))
    elif shape == "triangle":
        draw.polygon(_polygon(cx, cy, r, 3, -math.pi / 2), fill=fill)
    elif shape == "star":
        draw.polygon(_polygon(cx, cy, r, 5, -math.pi / 2, inner=0.45), fill=fill)
    elif shape == "diamond":
        draw.polygon(_polygon(cx, cy, r, 4, 0), fill=fill)
    elif shape == "hexagon":
        draw.polygon(_polygon(cx, cy, r, 6, 0), fill=fill)
    elif shape == "cross":
        t = r / 3
        draw.rectangle((cx - r, cy - t, cx + r, cy + t), fill=fill)
        draw.rectangle((cx - t, cy - r, cx + t, cy + r), fill=fill)
    else:
        raise ValueError(f"unknown shape {shape!r}")


def render_scene(scene: Scene, width: int, height: int, jitter: int = 0) -> Image.Image:
    """Draw the scene at the given size; shapes in a group sit side by side in their cell.

    ``jitter`` > 0 draws the same scene again as a re-shoot would: every shape shifted by up to
    a tenth of its cell, its size changed by up to 15%, and every colour moved by up to 28 per
    channel, all fixed by ``jitter``: a near copy a perceptual hash does not call one."""
    moves = random.Random(jitter) if jitter else None

    def colour(name: str) -> tuple[int, int, int]:
        if moves is None:
            return RGB[name]
        return tuple(min(255, max(0, value + moves.randint(-28, 28))) for value in RGB[name])

    image = Image.new("RGB", (width, height), colour(scene.background))
    draw = ImageDraw.Draw(image)
    cell_w, cell_h = width / 3, height / 3
    for group in scene.groups:
        radius = min(cell_w, cell_h) * (0.42 if group.large else 0.28) / max(1, group.count * 0.7)
        dx = dy = 0.0
        fill = colour(group.colour)
        if moves is not None:
            radius *= moves.uniform(0.85, 1.15)
            dx, dy = moves.uniform(-0.1, 0.1) * cell_w, moves.uniform(-0.1, 0.1) * cell_h
        for k in range(group.count):
            offset = (k - (group.count - 1) / 2) * radius * 2.2
            cx = (group.cell[0] + 0.5) * cell_w + offset + dx
            cy = (group.cell[1] + 0.5) * cell_h + dy
            _draw_shape(draw, group.shape, cx, cy, max(1.0, radius), fill)
    return image


ENCODINGS = {"jpg": ("JPEG", "image/jpeg"), "png": ("PNG", "image/png"), "webp": ("WEBP", "image/webp")}


def encode_image(image: Image.Image, extension: str) -> bytes:
    """Encode with fixed settings so the same scene always gives the same bytes."""
    pil_format, _ = ENCODINGS[extension]
    buffer = io.BytesIO()
    options = {"quality": 90} if pil_format in ("JPEG", "WEBP") else {"optimize": False}
    image.save(buffer, format=pil_format, **options)
    return buffer.getvalue()
