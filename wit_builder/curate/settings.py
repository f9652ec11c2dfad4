"""The curate stage's settings: which rules run, and their thresholds."""

from __future__ import annotations

import math
from dataclasses import dataclass

from wit_builder.curation.filters import Rules
from wit_builder.stage_settings import Settings, option

CLIP_SCORE = "clip score (DataComp)"
DEDUP = "semantic dedup (SemDeDup)"
EVAL = "evaluation sets"


@dataclass(frozen=True, kw_only=True)
class CurateSettings(Settings):
    """``wit-builder curate``."""

    embeddings: tuple[str, ...] = option(
        metavar="PATH",
        role="input",
        help="the embed stage's folder, or its embeddings Parquet files / globs (may repeat)",
    )
    out: str = option(metavar="DIR", role="out", help="writes curation/*.parquet (every sample's fate) and stats.json")
    clip_score_min: float | None = option(
        None,
        metavar="S",
        group=CLIP_SCORE,
        exclusive="clip-score",
        help="drop pairs whose image-text cosine is below S (off by default)",
        low=-1.0,
        high=1.0,
    )
    clip_score_top: float | None = option(
        None,
        metavar="F",
        group=CLIP_SCORE,
        exclusive="clip-score",
        help="keep the top fraction F of pairs by cosine, e.g. 0.3 (DataComp's top 30 percent); off by default",
        low=1e-6,
        high=1.0,
    )
    per_language: bool = option(
        False, group=CLIP_SCORE, help="apply --clip-score-top within each caption language, not over all"
    )
    semantic_dedup: bool = option(True, flag="no-semantic-dedup", group=DEDUP, help="keep semantic duplicates")
    dedup_epsilon: float = option(
        0.05, metavar="EPS", group=DEDUP, help="a near copy: cosine above 1 - EPS to a kept sample", low=0.0, high=1.0
    )
    dedup_clusters: int | None = option(
        None, metavar="K", group=DEDUP, help="k-means clusters (default: about the square root of the samples)",
        low=1, high=10**8,
    )  # fmt: skip
    dedup_sample: int = option(
        1_000_000, metavar="N", group=DEDUP,
        help="train the k-means on at most N samples (256 a cluster up to N, chosen by a hash of the uid)",
        low=1, high=10**9,
    )  # fmt: skip
    eval_similarity: float = option(
        0.9,
        metavar="TAU",
        group=EVAL,
        help="drop samples within cosine TAU of an evaluation image the embed stage embedded (math.inf: off)",
        low=-1.0,
        high=math.inf,
    )
    seed: int = option(0, help="seed of the k-means", low=0, high=2**31 - 1)

    @property
    def rules(self) -> Rules:
        return Rules(
            clip_score_min=self.clip_score_min,
            clip_score_top=self.clip_score_top,
            per_language=self.per_language,
            eval_similarity=None if math.isinf(self.eval_similarity) else self.eval_similarity,
            dedup_epsilon=self.dedup_epsilon if self.semantic_dedup else None,
            dedup_clusters=self.dedup_clusters,
            seed=self.seed,
        )
