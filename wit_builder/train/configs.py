"""Named model sizes, as data: one JSON file per model in ``model_configs/``, in open_clip's
model-config format (``embed_dim``, ``vision_cfg``, ``text_cfg``), so ``export`` writes a
config open_clip reads as it is and an open_clip config file can be dropped in here.

The sizes shipped: the CLIP paper's ViT-B/32, ViT-B/16, ViT-L/14 and its modified ResNet-50
(RN50), and ``tiny`` (about 1.5M parameters), which learns the synthetic world's scenes in a
minute on two CPU cores. The image tower is named by ``vision_cfg.tower``; where a file leaves
it out, open_clip's rule decides: a list of layers is a ResNet, a number a ViT.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, field, replace
from importlib import resources

from wit_builder.errors import UsageError


@dataclass(frozen=True)
class VisionConfig:
    image_size: int = 224
    layers: int | tuple[int, ...] = 12  # a ResNet's blocks per stage, e.g. (3, 4, 6, 3)
    width: int = 768
    patch_size: int | None = 16  # None for a ResNet
    head_width: int = 64
    mlp_ratio: float = 4.0
    tower: str = "vit"  # the image tower's name in ``factory.VISION_TOWERS``

    @property
    def heads(self) -> int:
        return self.width // self.head_width

    @property
    def grid(self) -> int:
        """Patches along a side (a ViT)."""
        if not self.patch_size:
            raise ValueError(f"a {self.tower} image tower has no patch grid")
        return self.image_size // self.patch_size

    @classmethod
    def from_dict(cls, data: dict) -> VisionConfig:
        data = dict(data)
        if isinstance(data.get("layers"), list | tuple):
            data["layers"] = tuple(data["layers"])
        data.setdefault("tower", "resnet" if isinstance(data.get("layers"), tuple) else "vit")
        return cls(**data)


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
        return cls(data["embed_dim"], VisionConfig.from_dict(data["vision_cfg"]), TextConfig(**data["text_cfg"]))

    def with_vocab(self, vocab_size: int, context_length: int | None = None) -> ClipConfig:
        """The same model for a tokenizer of ``vocab_size`` ids (and, if given, another context)."""
        text = replace(self.text_cfg, vocab_size=vocab_size)
        if context_length is not None:
            text = replace(text, context_length=context_length)
        return replace(self, text_cfg=text)


CONFIG_PACKAGE = "wit_builder.train.model_configs"


@functools.cache
def model_configs() -> dict[str, ClipConfig]:
    """Every shipped model, by name (its file's name without ``.json``)."""
    folder = resources.files(CONFIG_PACKAGE)
    configs = {}
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.name.endswith(".json"):
            configs[entry.name.removesuffix(".json")] = ClipConfig.from_dict(json.loads(entry.read_text("utf-8")))
    return configs


def model_names() -> tuple[str, ...]:
    return tuple(model_configs())


def model_config(name: str) -> ClipConfig:
    try:
        return model_configs()[name]
    except KeyError:
        raise UsageError(f"unknown model {name!r}; known: {', '.join(model_configs())}") from None
