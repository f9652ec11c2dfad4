"""``wit-train eval``: retrieval on held-out shards and zero-shot classification.

Retrieval embeds every (image, caption) pair of ``--val-data`` and reports recall@1/5/10 both
ways (the pair's own caption among all captions, and its own image among all images). Zero-shot
embeds each class name in every prompt template, averages the normalised prompt embeddings per
class, and classifies images by the nearest class, as the CLIP paper does. Its data is an
ImageNet-style folder of class-named subfolders, or shards whose samples carry a ``cls`` member
(a class name, or an index into ``--classnames``).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import fsspec
import torch
from PIL import Image

from wit_builder.errors import StageFailed, UsageError
from wit_builder.io.json_files import write_json
from wit_builder.tokenizer.encode import CaptionTokenizer
from wit_builder.train.data import eval_samples, resolve_urls
from wit_builder.train.model import CLIP
from wit_builder.train.precision import autocast
from wit_builder.train.transforms import eval_view

log = logging.getLogger("wit_builder.train")
DEFAULT_TEMPLATES = (
    "a photo of a {}.",
    "a picture of a {}.",
    "a drawing of a {}.",
    "an image showing a {}.",
    "a photo of the {}.",
    "a close-up photo of a {}.",
    "a low resolution photo of a {}.",
    "art of the {}.",
)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
RECALL_AT = (1, 5, 10)


def _batches(items: Iterator, size: int) -> Iterator[list]:
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _decoded(samples: Iterator[tuple[str, bytes, str]], image_size: int) -> Iterator[tuple[torch.Tensor, str]]:
    for key, data, label in samples:
        try:
            with Image.open(io.BytesIO(data)) as picture:
                yield eval_view(picture, image_size), label
        except Exception as error:  # an undecodable image is skipped and logged, never fatal
            log.warning("eval: skipping %s: %s", key, error)


@torch.no_grad()
def embed_pairs(model: CLIP, tokenizer: CaptionTokenizer, samples, batch_size: int, device, precision: str):
    """Normalised image and text features of every pair, in order."""
    images, texts = [], []
    for batch in _batches(_decoded(samples, model.visual.image_size), batch_size):
        pixels = torch.stack([b[0] for b in batch]).to(device)
        tokens = torch.as_tensor(tokenizer([b[1] for b in batch])).to(device)
        with autocast(precision, device):
            images.append(model.encode_image(pixels).float().cpu())
            texts.append(model.encode_text(tokens).float().cpu())
    if not images:
        raise StageFailed("no complete (image, caption) sample to evaluate on")
    return torch.cat(images), torch.cat(texts)


def recall_at(similarity: torch.Tensor, ks=RECALL_AT) -> dict[int, float]:
    """Share of rows whose own column (the diagonal) is among their top k."""
    correct = similarity.diag().unsqueeze(1)
    rank = (similarity > correct).sum(dim=1)  # how many candidates beat the right one
    return {k: float((rank < k).float().mean()) for k in ks}


def retrieval_metrics(image_features: torch.Tensor, text_features: torch.Tensor) -> dict:
    similarity = image_features @ text_features.T
    results = {"n": int(similarity.shape[0])}
    for k, value in recall_at(similarity).items():
        results[f"image_to_text_R@{k}"] = round(value, 4)
    for k, value in recall_at(similarity.T).items():
        results[f"text_to_image_R@{k}"] = round(value, 4)
    return results


def read_templates(path: str | None) -> tuple[str, ...]:
    if not path:
        return DEFAULT_TEMPLATES
    with fsspec.open(path, "rt", encoding="utf-8") as handle:
        templates = tuple(line.strip() for line in handle if line.strip() and not line.startswith("#"))
    bad = [t for t in templates if "{}" not in t]
    if bad or not templates:
        raise UsageError(f"every template needs a '{{}}' for the class name; {path} has {bad or 'none'}")
    return templates


def zeroshot_samples(source: str, classnames: str | None = None) -> Iterator[tuple[str, bytes, str]]:
    """``(key, image bytes, class name)`` from a folder of class folders, or from shards."""
    local = Path(source)
    if local.is_dir() and not any(local.glob("*.tar")):
        for folder in sorted(p for p in local.iterdir() if p.is_dir()):
            for path in sorted(folder.iterdir()):
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    yield str(path), path.read_bytes(), folder.name.replace("_", " ")
        return
    urls = resolve_urls(f"{source.rstrip('/')}/*.tar" if local.is_dir() else source)
    names = None
    if classnames:
        with fsspec.open(classnames, "rt", encoding="utf-8") as handle:
            names = [line.strip() for line in handle if line.strip()]
    for key, data, label in eval_samples(urls, ("cls", "cls.txt")):
        if names is not None and label.isdigit():
            label = names[int(label)]
        yield key, data, label


@torch.no_grad()
def zeroshot_metrics(model: CLIP, tokenizer: CaptionTokenizer, samples, templates, batch_size, device, precision):
    decoded = list(_decoded(samples, model.visual.image_size))
    if not decoded:
        raise StageFailed("no image to classify in the zero-shot data")
    classes = sorted({label for _, label in decoded})
    weights = []
    for name in classes:
        tokens = torch.as_tensor(tokenizer([t.format(name) for t in templates])).to(device)
        with autocast(precision, device):
            prompts = model.encode_text(tokens).float()
        weights.append(torch.nn.functional.normalize(prompts.mean(0), dim=-1))
    classifier = torch.stack(weights)
    index = {name: i for i, name in enumerate(classes)}
    top1 = top5 = 0
    for batch in _batches(iter(decoded), batch_size):
        pixels = torch.stack([b[0] for b in batch]).to(device)
        labels = torch.tensor([index[b[1]] for b in batch], device=device)
        with autocast(precision, device):
            logits = model.encode_image(pixels).float() @ classifier.T
        best = logits.topk(min(5, len(classes)), dim=1).indices
        top1 += int((best[:, 0] == labels).sum())
        top5 += int((best == labels.unsqueeze(1)).any(dim=1).sum())
    n = len(decoded)
    return {
        "zeroshot_top1": round(top1 / n, 4),
        "zeroshot_top5": round(top5 / n, 4),
        "classes": len(classes),
        "zeroshot_n": n,
        "zeroshot_chance": round(1 / len(classes), 4),
    }


def evaluate(
    model,
    tokenizer,
    val_data,
    zeroshot_data,
    templates_path,
    batch_size,
    device,
    precision,
    classnames: str | None = None,
) -> dict:
    model.eval()
    results: dict = {}
    try:
        if val_data:
            samples = eval_samples(resolve_urls(val_data))
            results.update(retrieval_metrics(*embed_pairs(model, tokenizer, samples, batch_size, device, precision)))
            results["chance_R@1"] = round(1 / results["n"], 6)
        if zeroshot_data:
            templates = read_templates(templates_path)
            samples = zeroshot_samples(zeroshot_data, classnames)
            results.update(zeroshot_metrics(model, tokenizer, samples, templates, batch_size, device, precision))
    finally:
        model.train()
    return results


def evaluation_line(results: dict) -> str:
    """The figures a person reads first, in words: ``image → text R@1 0.035, text → image R@1
    0.035 (chance 0.0025); zero-shot top-1 0.350 (chance 0.100)``."""
    parts = []
    if "image_to_text_R@1" in results:
        parts.append(
            f"image → text R@1 {results['image_to_text_R@1']:.3f}, text → image R@1 "
            f"{results['text_to_image_R@1']:.3f} (chance {results['chance_R@1']:.4f}, {results['n']:,} pairs)"
        )
    if "zeroshot_top1" in results:
        parts.append(f"zero-shot top-1 {results['zeroshot_top1']:.3f} (chance {results['zeroshot_chance']:.3f})")
    return "; ".join(parts) or "nothing to evaluate on"


def write_results(results: dict, path: str) -> None:
    write_json(path, results)


def load_trained(checkpoint: str, device: torch.device | None = None) -> tuple[CLIP, CaptionTokenizer, dict]:
    """A checkpoint's model (on ``device``, the GPU when present by default) and the tokenizer it
    was trained with, ready to evaluate, and the checkpoint's state."""
    from wit_builder.train.checkpoints import load_checkpoint, resolve_checkpoint
    from wit_builder.train.configs import ClipConfig
    from wit_builder.train.factory import create_model

    state = load_checkpoint(resolve_checkpoint(checkpoint))
    config = ClipConfig.from_dict(state["model_config"])
    tokenizer = CaptionTokenizer(state["tokenizer_json"], config.text_cfg.context_length)
    model = create_model(config, tokenizer.end_id)
    model.load_state_dict(state["model"])
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return model.to(device), tokenizer, state


def retrieval_on_sets(checkpoint: str, val_sets: list[str], batch_size: int = 256) -> list[dict]:
    """A checkpoint's retrieval figures on each held-out set, on the CPU in fp32 (the same
    numbers on every machine)."""
    model, tokenizer, _ = load_trained(checkpoint, torch.device("cpu"))
    return [evaluate(model, tokenizer, val, None, None, batch_size, torch.device("cpu"), "fp32") for val in val_sets]
