"""The curate stage's rules over the embeddings, as plain arrays in and decisions out: each
sample gets exactly one status, from the first rule that drops it, in this order:

1. ``embed_error``: the embed stage could not embed it (its stored image did not decode);
2. ``eval_embedding``: its image embedding is within cosine τ of an evaluation image
   (a copy that changed more than PDQ can see; added to PDQ's check, not replacing it);
3. ``low_clip_score``: its image–text cosine is below the threshold: an absolute ``minimum``,
   or the score that keeps the ``top`` fraction (DataComp's "CLIP score, top 30%"), over all
   samples or within each language (a multilingual model scores languages on different scales);
4. ``semantic_duplicate``: SemDeDup (``semantic_dedup``) among the samples still kept, the
   copy with the higher CLIP score kept.

The order is the cheapest and surest first, and dedup last so that a kept copy is never one a
rule before it would drop. ``ok`` is everything else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from wit_builder.curation.semantic_dedup import faiss_module, semantic_dedup

OK, EMBED_ERROR, EVAL_EMBEDDING, LOW_CLIP_SCORE, SEMANTIC_DUPLICATE = (
    "ok",
    "embed_error",
    "eval_embedding",
    "low_clip_score",
    "semantic_duplicate",
)
STATUSES = (OK, EMBED_ERROR, EVAL_EMBEDDING, LOW_CLIP_SCORE, SEMANTIC_DUPLICATE)
ALL_LANGUAGES = "all"


@dataclass(frozen=True)
class Rules:
    """Which rules run, and their thresholds (None: the rule is off)."""

    clip_score_min: float | None = None
    clip_score_top: float | None = None
    per_language: bool = False
    eval_similarity: float | None = 0.9
    dedup_epsilon: float | None = 0.05
    dedup_clusters: int | None = None
    seed: int = 0


@dataclass
class Decisions:
    """Per sample: its status, the number that decided (NaN where none did), the sample or
    evaluation image it copies (None where it copies none), and the evidence in words."""

    status: np.ndarray  # object array of STATUSES
    score: np.ndarray  # float64
    duplicate_of: list[str | None]
    evidence: list[str | None]
    eval_set: list[str | None]
    thresholds: dict[str, float] = field(default_factory=dict)  # per language (or "all"): the clip-score cut
    clusters: int = 0


def score_thresholds(
    scores: np.ndarray, langs: Sequence[str | None], minimum: float | None, top: float | None, per_language: bool
) -> dict[str, float]:
    """The clip-score cut per language (``ALL_LANGUAGES`` when not per language): ``minimum``
    as given, or the score at which the ``top`` fraction of that group's samples is kept."""
    if minimum is None and top is None:
        return {}
    groups = _groups(langs) if per_language else {ALL_LANGUAGES: np.arange(len(scores))}
    cuts = {}
    for name, members in groups.items():
        group = scores[members]
        group = group[np.isfinite(group)]
        if minimum is not None:
            cuts[name] = float(minimum)
        elif len(group):  # the k-th highest score, k = ⌈top × n⌉: exactly k kept, ties aside
            ordered = np.sort(group)
            cuts[name] = float(ordered[len(ordered) - max(1, math.ceil(top * len(ordered)))])
    return cuts


def _groups(langs: Sequence[str | None]) -> dict[str, np.ndarray]:
    names = np.array([lang or "und" for lang in langs], dtype=object)
    return {name: np.flatnonzero(names == name) for name in sorted(set(names))}


def nearest_eval(
    embeddings: np.ndarray, eval_sets: Mapping[str, tuple[list[str], np.ndarray]]
) -> tuple[np.ndarray, list[str | None]]:
    """Each sample's highest cosine to any evaluation image, and that image (``SET:ID``), by an
    exact faiss inner-product index over all the sets' embeddings."""
    faiss = faiss_module()
    n = len(embeddings)
    if not eval_sets or n == 0:
        return np.full(n, -np.inf), [None] * n
    names = [f"{name}:{image_id}" for name, (ids, _) in eval_sets.items() for image_id in ids]
    vectors = np.ascontiguousarray(np.concatenate([rows for _, rows in eval_sets.values()]), np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    similarity, nearest = index.search(np.ascontiguousarray(embeddings, np.float32), 1)
    return similarity[:, 0].astype(np.float64), [names[i] if i >= 0 else None for i in nearest[:, 0]]


def decide(
    uids: Sequence[str],
    langs: Sequence[str | None],
    scores: np.ndarray,
    images: np.ndarray,
    failed: np.ndarray,
    rules: Rules,
    eval_sets: Mapping[str, tuple[list[str], np.ndarray]] | None = None,
) -> Decisions:
    """Every sample's status under ``rules`` (module docstring). ``images``: N × d normalised
    image embeddings (rows of failed samples are ignored); ``scores``: the CLIP scores."""
    n = len(uids)
    status = np.full(n, OK, dtype=object)
    decided = np.full(n, np.nan)
    duplicate_of: list[str | None] = [None] * n
    evidence: list[str | None] = [None] * n
    eval_set: list[str | None] = [None] * n
    status[failed] = EMBED_ERROR
    open_ = ~failed
    if rules.eval_similarity is not None and eval_sets:
        similarity, nearest = nearest_eval(images, eval_sets)
        hit = open_ & (similarity >= rules.eval_similarity)
        for i in np.flatnonzero(hit):
            status[i], decided[i], duplicate_of[i] = EVAL_EMBEDDING, similarity[i], nearest[i]
            eval_set[i] = nearest[i].split(":", 1)[0]
            evidence[i] = f"cosine {similarity[i]:.3f} to evaluation image {nearest[i]} (τ {rules.eval_similarity:g})"
        open_ &= ~hit
    thresholds = score_thresholds(
        np.where(open_, scores, np.nan), langs, rules.clip_score_min, rules.clip_score_top, rules.per_language
    )
    if thresholds:
        group_of = [lang or "und" for lang in langs] if rules.per_language else [ALL_LANGUAGES] * n
        how = "at least" if rules.clip_score_min is not None else f"the top {rules.clip_score_top:.0%} of"
        for i in np.flatnonzero(open_):
            cut = thresholds.get(group_of[i])
            if cut is not None and scores[i] < cut:
                status[i], decided[i] = LOW_CLIP_SCORE, scores[i]
                where = "" if not rules.per_language else f" {group_of[i]}"
                evidence[i] = f"clip score {scores[i]:.3f} below {cut:.3f} ({how}{where} samples kept)"
                open_[i] = False
    clusters = 0
    if rules.dedup_epsilon is not None and open_.sum() > 1:
        members = np.flatnonzero(open_)
        result = semantic_dedup(images[members], scores[members], rules.dedup_epsilon, rules.dedup_clusters, rules.seed)
        clusters = int(result.cluster.max()) + 1 if len(result.cluster) else 0
        for position in np.flatnonzero(~result.kept):
            i, kept = members[position], members[result.duplicate_of[position]]
            status[i], decided[i], duplicate_of[i] = SEMANTIC_DUPLICATE, float(result.similarity[position]), uids[kept]
            evidence[i] = (
                f"cosine {result.similarity[position]:.3f} to {uids[kept]} (above 1 − ε = {1 - rules.dedup_epsilon:g})"
            )
    return Decisions(status, decided, duplicate_of, evidence, eval_set, thresholds, clusters)
