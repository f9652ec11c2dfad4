"""The embed stage's settings: which model, where it runs, and how the work is cut."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from wit_builder.stage_settings import Settings, SettingsError, option

TUNING = "tuning"
MODEL = "model"


@dataclass(frozen=True, kw_only=True)
class EmbedSettings(Settings):
    """``wit-builder embed``."""

    samples: tuple[str, ...] = option(
        metavar="PATH",
        role="input",
        help="the download stage's folder, or its samples Parquet files / globs (may repeat)",
    )
    out: str = option(
        metavar="DIR", role="out", help="writes embeddings/*.parquet, eval_embeddings/*.parquet and stats.json"
    )
    model: str | None = option(
        None,
        metavar="PATH",
        role="input",
        group=MODEL,
        exclusive=MODEL,
        help="a wit-train checkpoint, training folder (its latest checkpoint) or `wit-train export` folder",
    )
    open_clip: str | None = option(
        None,
        metavar="NAME",
        group=MODEL,
        exclusive=MODEL,
        help="an open_clip model by name (ViT-B-32), with --pretrained; needs the curate extra",
    )
    pretrained: str | None = option(
        None, metavar="FILE", role="input", group=MODEL, help="the open_clip model's weights: a local file"
    )
    device: str = option("auto", choices=("auto", "cpu", "cuda"), group=MODEL, help="auto: cuda when a GPU is present")
    precision: str = option(
        "auto", choices=("auto", "fp32", "amp_bf16"), group=MODEL, help="auto: bf16 autocast on a GPU, fp32 on a CPU"
    )
    eval_sets: tuple[str, ...] = option(
        (),
        metavar="[NAME=]PATH",
        role="input",
        help="an evaluation set to embed for the curate stage's eval_embedding filter: an image folder, "
        "WebDataset shards (may repeat)",
    )
    batch_size: int = option(64, metavar="N", group=TUNING, help="samples a model call embeds", low=1, high=65_536)
    chunk_rows: int = option(
        2_048, metavar="N", group=TUNING, help="samples a unit of work (and of resumption) holds", low=1, high=10**7
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (self.model or self.open_clip):
            raise SettingsError("give --model (a wit-train checkpoint, run or export) or --open-clip NAME --pretrained")
        if self.pretrained and not self.open_clip:
            raise SettingsError("--pretrained goes with --open-clip NAME")

    def work_key(self, digest: str, precision: str) -> str:
        """What decides a chunk's embeddings: the weights (by digest), the numbers' precision and
        the batch size (a batch's shape can move the last bits)."""
        deciding = {"digest": digest, "precision": precision, "batch_size": self.batch_size}
        return hashlib.sha256(json.dumps(deciding, sort_keys=True).encode()).hexdigest()[:12]
