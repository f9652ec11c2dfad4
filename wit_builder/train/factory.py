"""Where a model is put together: the one place a ``CLIP`` is built.

``create_model(config)`` builds the image tower ``config.vision_cfg.tower`` names, from
``VISION_TOWERS``, and the text tower around it. A new image architecture is a module with a
class taking ``(VisionConfig, embed_dim)`` plus one line in ``VISION_TOWERS`` (and a JSON file
in ``model_configs/`` for each of its sizes); nothing else in the trainer changes.
"""

from __future__ import annotations

from torch import nn

from wit_builder.stages import load
from wit_builder.train.configs import ClipConfig, VisionConfig
from wit_builder.train.model import CLIP

# Image towers by name: "module:Class", imported when a model uses it.
VISION_TOWERS: dict[str, str] = {
    "vit": "wit_builder.train.model:VisionTransformer",
    "resnet": "wit_builder.train.resnet:ModifiedResNet",
}


def vision_tower(cfg: VisionConfig, embed_dim: int) -> nn.Module:
    """The image tower ``cfg.tower`` names, projecting into ``embed_dim``."""
    try:
        target = VISION_TOWERS[cfg.tower]
    except KeyError:
        raise ValueError(f"unknown image tower {cfg.tower!r}; known: {', '.join(VISION_TOWERS)}") from None
    return load(target)(cfg, embed_dim)


def create_model(config: ClipConfig, end_token_id: int | None = None) -> CLIP:
    """A CLIP of ``config``, freshly initialised (seed torch first for the same weights)."""
    return CLIP(config, vision_tower(config.vision_cfg, config.embed_dim), end_token_id)
