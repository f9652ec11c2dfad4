"""The models the embed stage can load, each behind one interface (``Embedder``): pixels and
captions in, L2-normalised image and text embeddings out.

``--model`` names one of:

- a ``wit-train`` checkpoint file, or a training folder (its latest checkpoint): the bundled
  trainer's model with the tokenizer it was trained with (the bootstrap route, DFN's idea: no
  outside weights at all);
- a ``wit-train export`` folder (``NAME.json``, ``NAME.pt``, ``tokenizer.json``): built by
  open_clip from the exported config, with the exported tokenizer;
- an open_clip model name (``ViT-B-32``) with ``--pretrained``, a local weights file (a tag
  such as ``laion2b_s34b_b79k`` works only where open_clip can download it), tokenised with the
  model's own tokenizer. open_clip comes with the ``curate`` extra.

What is loaded is checked before any sample is read, so a missing, corrupt or mismatched model
is one line and nothing is written: the tokenizer must fit the text tower (no id beyond its
vocabulary, the same context length), and a probe pair must embed to finite vectors of the
model's embedding width.

``ModelSource`` is the small picklable description workers get; each worker process loads the
model from it once (``load_embedder``). Its ``digest`` is a hash of the weights themselves
(every tensor of the state dict, by name), so a checkpoint re-saved with another optimiser state
is the same model, and another model is another digest: the chunks' names and the stage's key
carry it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from wit_builder.errors import StageFailed, UsageError
from wit_builder.train.transforms import OPENAI_MEAN, OPENAI_STD, eval_view

WIT_TRAIN, OPEN_CLIP, EXPORT = "wit-train", "open_clip", "wit-train export"
PROBE_CAPTION = "a photo of a red circle"


@dataclass(frozen=True)
class ModelSource:
    """What a worker needs to load the model: picklable, and small."""

    kind: str  # WIT_TRAIN, EXPORT or OPEN_CLIP
    model: str  # a checkpoint path, an export folder, or an open_clip model name
    pretrained: str | None  # open_clip: the weights file or tag
    name: str  # how the stats and the report name it
    digest: str  # sha256 of the weights (hex, 16 characters)
    embed_dim: int
    image_size: int
    device: str  # cpu or cuda
    precision: str  # fp32 or amp_bf16


@dataclass
class Embedder:
    """A loaded model and what turns samples into its inputs."""

    module: torch.nn.Module
    tokenize: Callable[[Sequence[str]], torch.Tensor]
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    device: torch.device
    precision: str

    def pixels(self, image_bytes: bytes) -> torch.Tensor:
        """One stored image as the model's input: short side to the model's size, centre crop,
        normalised with the model's mean and std (CLIP's evaluation view)."""
        with Image.open(io.BytesIO(image_bytes)) as picture:
            tensor = eval_view(picture, self.image_size)
        if (self.mean, self.std) != (tuple(OPENAI_MEAN), tuple(OPENAI_STD)):
            openai_mean, openai_std = (torch.tensor(v).view(3, 1, 1) for v in (OPENAI_MEAN, OPENAI_STD))
            mean, std = (torch.tensor(v).view(3, 1, 1) for v in (self.mean, self.std))
            tensor = (tensor * openai_std + openai_mean - mean) / std
        return tensor

    @torch.no_grad()
    def embed(self, pixels: torch.Tensor, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Normalised image and text embeddings (float32 arrays, one row a pair)."""
        from wit_builder.train.precision import autocast

        tokens = self.tokenize(list(texts)).to(self.device)
        with autocast(self.precision, self.device):
            image = self.module.encode_image(pixels.to(self.device))
            text = self.module.encode_text(tokens)
        image = torch.nn.functional.normalize(image.float(), dim=-1)
        text = torch.nn.functional.normalize(text.float(), dim=-1)
        return image.cpu().numpy(), text.cpu().numpy()


def weights_digest(state_dict: dict[str, torch.Tensor]) -> str:
    """A hash of the weights alone: every tensor's name, shape, type and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}\0{tuple(tensor.shape)}\0{tensor.dtype}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()[:16]


def resolve_device(device: str) -> str:
    """``auto``: cuda when a GPU is present, else cpu; ``cuda`` without one is a usage error."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no GPU is visible to torch here; use --device cpu or auto")
    return device


def describe_model(model: str, pretrained: str | None, device: str, precision: str) -> ModelSource:
    """Load the model once, check it (``check_embedder``), and describe it for the workers."""
    device = resolve_device(device)
    embedder, kind, name, state = _load(model, pretrained, device, precision)
    check_embedder(embedder, name)
    embed_dim = int(embedder.embed(embedder.pixels(_probe_image()).unsqueeze(0), [PROBE_CAPTION])[0].shape[1])
    digest = weights_digest(state)
    return ModelSource(kind, model, pretrained, name, digest, embed_dim, embedder.image_size, device, precision)


def load_embedder(source: ModelSource) -> Embedder:
    """The model a ``ModelSource`` describes, in eval mode on its device (each worker, once)."""
    embedder, _, _, state = _load(source.model, source.pretrained, source.device, source.precision)
    if weights_digest(state) != source.digest:
        raise StageFailed(
            f"--model {source.model}: its weights changed while the stage ran (digest {source.digest} at the "
            f"start, {weights_digest(state)} now); run the stage again"
        )
    return embedder


def check_embedder(embedder: Embedder, name: str) -> None:
    """A probe pair through the model: it must give finite vectors of one width for both towers."""
    try:
        image, text = embedder.embed(embedder.pixels(_probe_image()).unsqueeze(0), [PROBE_CAPTION])
    except (RuntimeError, ValueError, IndexError) as error:
        raise UsageError(
            f"--model {name}: the model cannot embed a probe pair ({type(error).__name__}: {error})"
        ) from None
    if image.shape != text.shape:
        raise UsageError(
            f"--model {name}: its image embeddings have width {image.shape[1]} and its text embeddings "
            f"{text.shape[1]}; a CLIP model's two towers share one width"
        )
    if not (np.isfinite(image).all() and np.isfinite(text).all()):
        raise StageFailed(f"--model {name}: the model gives NaN or infinite embeddings for a probe pair")


def _probe_image() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _load(model: str, pretrained: str | None, device: str, precision: str):
    """(embedder, kind, name, state dict) for ``--model``."""
    import fsspec

    filesystem, _ = fsspec.core.url_to_fs(model)
    if filesystem.isdir(model) and filesystem.glob(f"{model.rstrip('/')}/*.preprocess.json"):
        return _load_export(model, device, precision)
    if filesystem.exists(model):
        if pretrained:
            raise UsageError(f"--pretrained {pretrained}: only for an open_clip model name, not for {model}")
        return _load_wit_train(model, device, precision)
    if "/" in model or model.endswith((".pt", ".pth", ".bin", ".safetensors")):
        raise UsageError(f"--model {model}: no such file or folder (a wit-train checkpoint, run or export)")
    return _load_open_clip(model, pretrained, device, precision)


def _load_wit_train(model: str, device: str, precision: str):
    from wit_builder.tokenizer.encode import CaptionTokenizer
    from wit_builder.train.checkpoints import load_checkpoint, resolve_checkpoint
    from wit_builder.train.configs import ClipConfig
    from wit_builder.train.factory import create_model

    path = resolve_checkpoint(model)
    state = load_checkpoint(path)
    try:
        config = ClipConfig.from_dict(state["model_config"])
        tokenizer = CaptionTokenizer(state["tokenizer_json"], config.text_cfg.context_length)
    except (KeyError, TypeError, ValueError) as error:
        raise StageFailed(
            f"--model {model}: {path} lacks what a model needs ({type(error).__name__}: {error})"
        ) from None
    _check_vocabulary(model, tokenizer.vocab_size, config.text_cfg.vocab_size)
    module = create_model(config, tokenizer.end_id)
    _load_weights(module, state["model"], model)
    embedder = Embedder(
        module.eval().to(device),
        lambda texts: torch.as_tensor(tokenizer(texts)),
        config.vision_cfg.image_size,
        tuple(OPENAI_MEAN),
        tuple(OPENAI_STD),
        torch.device(device),
        precision,
    )
    name = f"{state.get('model_name', 'wit-train')} step {state.get('step', '?')} ({path})"
    return embedder, WIT_TRAIN, name, state["model"]


def _check_vocabulary(model: str, tokenizer_ids: int, model_ids: int) -> None:
    if tokenizer_ids > model_ids:
        raise UsageError(
            f"--model {model}: its tokenizer has {tokenizer_ids:,} ids and its text tower {model_ids:,}: "
            "they do not belong together (give the tokenizer the model was trained with)"
        )


def _load_weights(module: torch.nn.Module, state: dict, model: str) -> None:
    try:
        module.load_state_dict(state)
    except (RuntimeError, KeyError) as error:
        detail = " ".join(line.strip() for line in str(error).strip().splitlines()[1:3])[:240]
        raise UsageError(f"--model {model}: its weights do not fit its config ({detail})") from None


def _import_open_clip():
    try:
        import open_clip
    except ImportError as error:
        raise UsageError(
            f"open_clip models need the curate extra (pip install 'wit-builder[curate]'): {error}"
        ) from None
    return open_clip


def _load_export(folder: str, device: str, precision: str):
    """A ``wit-train export`` folder, through open_clip, with the exported tokenizer."""
    import fsspec

    from wit_builder.io.json_files import read_json
    from wit_builder.tokenizer.encode import CaptionTokenizer

    open_clip = _import_open_clip()
    root = folder.rstrip("/")
    filesystem, _ = fsspec.core.url_to_fs(root)
    preprocess_path = sorted(filesystem.glob(f"{root}/*.preprocess.json"))[0]
    name = preprocess_path.rsplit("/", 1)[-1].removesuffix(".preprocess.json")
    preprocess = read_json(preprocess_path)
    config = read_json(f"{root}/{name}.json")
    tokenizer = CaptionTokenizer.from_file(f"{root}/tokenizer.json", config["text_cfg"]["context_length"])
    _check_vocabulary(folder, tokenizer.vocab_size, config["text_cfg"]["vocab_size"])
    open_clip.add_model_config(root)
    state = _read_state_dict(f"{root}/{name}.pt", folder)
    module = open_clip.create_model(name, pretrained=None)
    _load_weights(module, state, folder)
    embedder = Embedder(
        module.eval().to(device),
        lambda texts: torch.as_tensor(tokenizer(texts)),
        int(preprocess["image_size"]),
        tuple(preprocess.get("mean", OPENAI_MEAN)),
        tuple(preprocess.get("std", OPENAI_STD)),
        torch.device(device),
        precision,
    )
    return embedder, EXPORT, f"{name} (export {folder})", state


def _read_state_dict(path: str, model: str) -> dict:
    import fsspec

    try:
        with fsspec.open(path, "rb") as handle:
            state = torch.load(io.BytesIO(handle.read()), map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UsageError(f"--model {model}: no weights at {path}") from None
    except Exception as error:
        raise StageFailed(f"{path} is not a readable weights file ({type(error).__name__}: {error})") from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise StageFailed(f"{path} holds a {type(state).__name__}, not a state dict of weights")
    return state


def _load_open_clip(name: str, pretrained: str | None, device: str, precision: str):
    """An open_clip model by name, with local weights and its own tokenizer."""
    import fsspec

    open_clip = _import_open_clip()
    if name not in open_clip.list_models():
        raise UsageError(f"--model {name}: not a file, a folder, nor an open_clip model (e.g. ViT-B-32)")
    if not pretrained:
        raise UsageError(f"--model {name} needs --pretrained: its weights file (random weights embed nothing useful)")
    module = open_clip.create_model(name, pretrained=None)
    if fsspec.core.url_to_fs(pretrained)[0].exists(pretrained):
        state = _read_state_dict(pretrained, name)
    else:
        try:
            module = open_clip.create_model(name, pretrained=pretrained)
        except Exception as error:
            raise UsageError(
                f"--pretrained {pretrained}: not a file, and open_clip could not fetch the tag "
                f"({type(error).__name__}); give a local weights file"
            ) from None
        state = module.state_dict()
    _load_weights(module, state, name)
    tokenizer = open_clip.get_tokenizer(name)
    vocabulary = getattr(tokenizer, "vocab_size", None) or len(getattr(tokenizer, "encoder", {})) or 0
    _check_vocabulary(name, vocabulary, module.token_embedding.num_embeddings)
    visual = module.visual
    size = visual.image_size[0] if isinstance(visual.image_size, tuple | list) else visual.image_size
    preprocess = getattr(visual, "preprocess_cfg", {}) or {}
    embedder = Embedder(
        module.eval().to(device),
        lambda texts: tokenizer(list(texts)),
        int(size),
        tuple(preprocess.get("mean", getattr(visual, "image_mean", None) or OPENAI_MEAN)),
        tuple(preprocess.get("std", getattr(visual, "image_std", None) or OPENAI_STD)),
        torch.device(device),
        precision,
    )
    return embedder, OPEN_CLIP, f"{name} ({pretrained})", state
