"""Named model sizes: the CLIP paper's ViTs, and ``tiny`` for CPU tests.

The fields and their names are open_clip's model-config JSON (``embed_dim``, ``vision_cfg``,
``text_cfg``), so ``export`` writes a config open_clip reads as it is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from wit_builder.errors import UsageError


@dataclass(frozen=True)
class VisionConfig:
    image_size: int = 224
    layers: int = 12
    width: int = 768
    patch_size: int = 16
    head_width: int = 64
    mlp_ratio: float = 4.0

    @property
    def heads(self) -> int:
        return self.width // self.head_width

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size


@dataclass(frozen=True)
class TextConfig:
    context_length: int = 77
    vocab_size: int = 49_408
    width: int = 512
    heads: int = 8
    layers: int = 12
    mlp_ratio: float = 4.0


@dataclass(frozen=True)
class ClipConfig:
    embed_dim: int = 512
    vision_cfg: VisionConfig = field(default_factory=VisionConfig)
    text_cfg: TextConfig = field(default_factory=TextConfig)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ClipConfig:
        return cls(data["embed_dim"], VisionConfig(**data["vision_cfg"]), TextConfig(**data["text_cfg"]))

    def with_vocab(self, vocab_size: int, context_length: int | None = None) -> ClipConfig:
        """The same model for a tokenizer of ``vocab_size`` ids (and, if given, another context)."""
        text = replace(self.text_cfg, vocab_size=vocab_size)
        if context_length is not None:
            text = replace(text, context_length=context_length)
        return replace(self, text_cfg=text)


MODEL_CONFIGS: dict[str, ClipConfig] = {
    # About 1.5M parameters: learns the synthetic world's scenes in a minute on two CPU cores.
    "tiny": ClipConfig(
        embed_dim=128,
        vision_cfg=VisionConfig(image_size=48, layers=3, width=128, patch_size=8, head_width=64),
        text_cfg=TextConfig(context_length=77, width=128, heads=2, layers=3),
    ),
    "ViT-B-32": ClipConfig(512, VisionConfig(224, 12, 768, 32), TextConfig(77, 49_408, 512, 8, 12)),
    "ViT-B-16": ClipConfig(512, VisionConfig(224, 12, 768, 16), TextConfig(77, 49_408, 512, 8, 12)),
    "ViT-L-14": ClipConfig(768, VisionConfig(224, 24, 1024, 14), TextConfig(77, 49_408, 768, 12, 12)),
}


def model_config(name: str) -> ClipConfig:
    try:
        return MODEL_CONFIGS[name]
    except KeyError:
        raise UsageError(f"unknown model {name!r}; known: {', '.join(MODEL_CONFIGS)}") from None
