"""``wit-train export``: an open_clip model config and weights, plus the tokenizer.

Writes ``DIR/NAME.json`` (``embed_dim``, ``vision_cfg``, ``text_cfg``: open_clip's model
config), ``DIR/NAME.pt`` (the plain state dict, whose names are open_clip's), ``DIR/tokenizer.json``
and ``DIR/NAME.preprocess.json`` (image size, mean, std). Then::

    open_clip.add_model_config(DIR)
    model = open_clip.create_model(NAME, pretrained=f"{DIR}/{NAME}.pt")

gives the same embeddings as ours on the same pixels and token ids. Captions must be turned
into ids with the exported ``tokenizer.json`` (``wit_builder.tokenizer.encode.CaptionTokenizer``),
not with open_clip's default tokenizer, which has another vocabulary.
"""

from __future__ import annotations

import io

import fsspec
import torch

from wit_builder.atomic import write_atomically
from wit_builder.errors import UsageError
from wit_builder.io.json_files import write_json
from wit_builder.train.checkpoints import load_checkpoint, resolve_checkpoint
from wit_builder.train.configs import ClipConfig
from wit_builder.train.transforms import OPENAI_MEAN, OPENAI_STD


def open_clip_config(config: ClipConfig) -> dict:
    """open_clip's model config for ``config``. open_clip tells the image tower by its layers: a
    list is its ``ModifiedResNet``, a number its ``VisionTransformer``."""
    vision, text = config.vision_cfg, config.text_cfg
    if vision.tower == "resnet":
        vision_cfg = {
            "image_size": vision.image_size,
            "layers": list(vision.layers),
            "width": vision.width,
            "patch_size": None,
            "head_width": vision.head_width,
        }
    elif vision.tower == "vit":
        vision_cfg = {
            "image_size": vision.image_size,
            "layers": vision.layers,
            "width": vision.width,
            "patch_size": vision.patch_size,
            "head_width": vision.head_width,
            "mlp_ratio": vision.mlp_ratio,
        }
    else:
        raise UsageError(f"open_clip has no image tower like ours named {vision.tower!r}; it cannot be exported")
    return {
        "embed_dim": config.embed_dim,
        "quick_gelu": False,
        "vision_cfg": vision_cfg,
        "text_cfg": {
            "context_length": text.context_length,
            "vocab_size": text.vocab_size,
            "width": text.width,
            "heads": text.heads,
            "layers": text.layers,
            "mlp_ratio": text.mlp_ratio,
        },
    }


def export(checkpoint: str, out: str, name: str | None = None) -> dict[str, str]:
    path = resolve_checkpoint(checkpoint)
    state = load_checkpoint(path)
    config = ClipConfig.from_dict(state["model_config"])
    name = name or f"{state['model_name']}-wit"
    end_id = int(state["end_token_id"])
    if end_id != config.text_cfg.vocab_size - 1:
        raise UsageError(
            f"the tokenizer's end token ({end_id}) is not its largest id, so open_clip's argmax pooling would "
            "read the wrong position; train with a tokenizer from `wit-builder tokenizer`"
        )
    filesystem, _ = fsspec.core.url_to_fs(out)
    filesystem.makedirs(out, exist_ok=True)
    root = out.rstrip("/")
    written = {
        "config": f"{root}/{name}.json",
        "weights": f"{root}/{name}.pt",
        "tokenizer": f"{root}/tokenizer.json",
        "preprocess": f"{root}/{name}.preprocess.json",
    }
    write_json(written["config"], open_clip_config(config))
    buffer = io.BytesIO()
    torch.save(state["model"], buffer)
    write_atomically(written["weights"], buffer.getvalue())
    write_atomically(written["tokenizer"], state["tokenizer_json"])
    preprocess = {
        "image_size": config.vision_cfg.image_size,
        "mean": OPENAI_MEAN,
        "std": OPENAI_STD,
        "interpolation": "bicubic",
        "resize_mode": "shortest",
        "checkpoint": path,
        "step": state["step"],
    }
    write_json(written["preprocess"], preprocess)
    return written
