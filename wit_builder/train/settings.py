"""``wit-train train``'s settings: one typed dataclass, whose flags keep open_clip's names.

``wit-builder run`` builds it from the config's ``[train]`` table; ``wit-train train`` from its
flags (``wit_builder.stage_settings``). The trainer reads it by attribute, as it would a parsed
command line.
"""

from __future__ import annotations

from dataclasses import dataclass

from wit_builder.stage_settings import Settings, option
from wit_builder.train.configs import model_names

URLS_HELP = "WebDataset URLs: a shard folder, paths, brace patterns, '::'-joined lists, http(s), gs://, s3://"
DATA, MODEL, RUN = "data", "model and optimisation", "run"
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")

# The numeric precisions (``precision.resolve_precision``): ``amp`` is float16 with loss scaling,
# for training on a GPU; an evaluation has no loss to scale.
PRECISIONS = ("auto", "fp32", "amp_bf16", "amp")
EVAL_PRECISIONS = tuple(p for p in PRECISIONS if p != "amp")


@dataclass(frozen=True, kw_only=True)
class TrainSettings(Settings):
    """``wit-train train``."""

    train_data: str = option(metavar="URLS", group=DATA, role="input", help=URLS_HELP)
    val_data: str | None = option(
        None, metavar="URLS", group=DATA, role="input", help="held-out shards: retrieval at the end"
    )
    zeroshot_data: str | None = option(
        None, metavar="PATH", group=DATA, role="input", help="a folder of class folders, or shards with 'cls'"
    )
    templates: str | None = option(
        None, metavar="FILE", group=DATA, role="input", help="zero-shot prompt templates, one per line, with {}"
    )
    train_num_samples: int | None = option(
        None, metavar="N", group=DATA, help="samples per epoch (default: from sizes.json)", low=1, high=10**12
    )
    dataset_resampled: bool = option(False, group=DATA, help="draw shards with replacement")
    first_caption: bool = option(
        False,
        group=DATA,
        help="train on each sample's KEY.txt only, never on the further captions its KEY.json lists",
    )
    online_balance: bool = option(
        False,
        group=DATA,
        help="balance each epoch afresh from a pool (shard --pool): Meta CLIP 2's draw, by the manifest's table",
    )
    shuffle_buffer: int = option(
        1000,
        metavar="N",
        group=DATA,
        help="samples in each worker's shuffle buffer (0 or 1: no shuffling)",
        low=0,
        high=10**7,
    )
    workers: int = option(4, metavar="N", group=DATA, help="data-loader workers per device", low=0, high=64)
    tokenizer: str | None = option(
        None, metavar="PATH", group=DATA, role="input", help="a tokenizer.json, or a folder holding one"
    )
    model: str = option("ViT-B-32", choices=model_names(), group=MODEL, help="model size")
    batch_size: int = option(64, metavar="N", group=MODEL, help="per device", low=1, high=65_536)
    epochs: int = option(32, metavar="N", group=MODEL, help="passes over the data", low=1, high=10**6)
    steps: int | None = option(
        None, metavar="N", group=MODEL, help="optimiser steps in all (instead of --epochs)", low=1, high=10**12
    )
    lr: float = option(5e-4, metavar="LR", group=MODEL, help="peak learning rate", low=0, high=10)
    wd: float = option(0.2, metavar="WD", group=MODEL, help="AdamW weight decay", low=0, high=10)
    beta1: float = option(0.9, metavar="B", group=MODEL, help="AdamW beta1", low=0, high=0.9999)
    beta2: float = option(0.98, metavar="B", group=MODEL, help="AdamW beta2", low=0, high=0.99999)
    eps: float = option(1e-6, metavar="EPS", group=MODEL, help="AdamW epsilon", low=1e-12, high=1)
    warmup: int = option(10_000, metavar="N", group=MODEL, help="warm-up steps", low=0, high=10**12)
    grad_clip_norm: float = option(1.0, metavar="NORM", group=MODEL, help="gradient clipping", low=0, high=10**6)
    accum_freq: int = option(1, metavar="N", group=MODEL, help="batches per optimiser step", low=1, high=1024)
    precision: str = option("auto", choices=PRECISIONS, group=MODEL, help="auto: amp_bf16 on GPU, fp32 on CPU")
    grad_checkpointing: bool = option(False, group=MODEL, help="recompute activations in the backward pass")
    torchcompile: bool = option(False, group=MODEL, help="torch.compile the model")
    torchcompile_mode: str = option(
        "default",
        choices=COMPILE_MODES,
        group=MODEL,
        help="torch.compile's mode, with --torchcompile (reduce-overhead and max-autotune replay CUDA graphs)",
    )
    local_loss: bool = option(False, group=MODEL, help="each rank computes its own rows of the logits")
    gather_with_grad: bool = option(False, group=MODEL, help="gather features with their gradients")
    seed: int = option(0, group=MODEL, help="seed of the model and the data order", low=0, high=2**63 - 1)
    out: str = option(metavar="DIR", group=RUN, role="out", help="checkpoints/, metrics.jsonl, eval.json")
    resume: str | None = option(
        None, metavar="CKPT", group=RUN, help="'latest' (in --out), a checkpoint, or a run folder"
    )
    save_every_n_steps: int = option(1000, metavar="N", group=RUN, help="checkpoint interval", low=1, high=10**12)
    delete_previous_checkpoint: bool = option(False, group=RUN, help="keep only the latest checkpoint")
    log_every_n_steps: int = option(
        100, metavar="N", group=RUN, help="progress and metrics interval", low=1, high=10**12
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.torchcompile_mode != "default" and not self.torchcompile:
            raise ValueError(f"torchcompile_mode {self.torchcompile_mode!r} needs torchcompile (--torchcompile)")


@dataclass(frozen=True, kw_only=True)
class EvalSettings(Settings):
    """``wit-train eval``."""

    checkpoint: str = option(metavar="CKPT", role="input", help="a checkpoint file, or a training run's folder")
    val_data: str | None = option(None, metavar="URLS", role="input", help="held-out shards (a folder or URLs)")
    zeroshot_data: str | None = option(
        None, metavar="PATH", role="input", help="a folder of class folders, or shards with 'cls'"
    )
    classnames: str | None = option(
        None, metavar="FILE", role="input", help="class names for shards whose 'cls' is an index"
    )
    templates: str | None = option(None, metavar="FILE", role="input", help="prompt templates, one per line, with {}")
    batch_size: int = option(256, metavar="N", help="images and captions per forward pass", low=1, high=10**6)
    precision: str = option("auto", choices=EVAL_PRECISIONS, help="auto: amp_bf16 on GPU, fp32 on CPU")
    out: str | None = option(None, metavar="FILE", help="also write the JSON here")
