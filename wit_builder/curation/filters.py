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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from wit_builder.curation.score_cut import kept_of
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
class Block:
    """Consecutive samples of one embeddings file (``file``: its number among the inputs,
    ``start``: the first row's) and what the rules decided of each so far: its status, the
    number that decided (NaN where none did), the sample or evaluation image it copies, the
    evaluation set, and the evidence in words. ``images`` (n × d, as stored: float16) is dropped
    once no rule needs it."""

    file: int
    start: int
    uids: list[str]
    langs: list[str | None]
    scores: np.ndarray  # float64; NaN where the embed stage failed
    images: np.ndarray | None
    status: np.ndarray  # object array of STATUSES
    score: np.ndarray
    duplicate_of: list[str | None]
    evidence: list[str | None]
    eval_set: list[str | None]

    def copy(self, images: bool = True) -> Block:
        """A copy whose decisions can change without touching this one's (a Beam element must
        not be changed in place: another transform may read it); the inputs are shared, and
        the embeddings left out unless ``images``."""
        return Block(self.file, self.start, self.uids, self.langs, self.scores, self.images if images else None,
                     self.status.copy(), self.score.copy(), list(self.duplicate_of), list(self.evidence),
                     list(self.eval_set))  # fmt: skip

    @property
    def open(self) -> np.ndarray:
        """The samples no rule has dropped yet."""
        return self.status == OK


def new_block(file: int, start: int, uids, langs, scores: np.ndarray, images: np.ndarray, failed) -> Block:
    """A block with every sample ``ok`` but those the embed stage failed (``embed_error``)."""
    n = len(uids)
    status = np.full(n, OK, dtype=object)
    status[np.asarray(failed, bool)] = EMBED_ERROR
    return Block(file, start, list(uids), list(langs), np.asarray(scores, np.float64), images, status,
                 np.full(n, np.nan), [None] * n, [None] * n, [None] * n)  # fmt: skip


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
    """The clip-score cut per group (``group_names``): ``minimum`` for everyone, or the score at
    which the ``top`` fraction of each group's finite scores is kept. Sorts every score: the
    reference that ``score_cut``'s streamed two passes reproduce."""
    if minimum is not None:
        return {ALL_LANGUAGES: float(minimum)}
    if top is None:
        return {}
    names = np.array(group_names(langs, per_language), dtype=object)
    cuts = {}
    for name in sorted(set(names)):
        group = scores[names == name]
        group = group[np.isfinite(group)]
        if len(group):  # the k-th highest score, k = ⌈top × n⌉: exactly k kept, ties aside
            ordered = np.sort(group)
            cuts[name] = float(ordered[len(ordered) - kept_of(top, len(ordered))])
    return cuts


def group_names(langs: Sequence[str | None], per_language: bool) -> list[str]:
    """Each sample's group for the clip-score cut: its language (``und`` when unknown), or
    ``all`` when the cut is over all samples."""
    return [lang or "und" for lang in langs] if per_language else [ALL_LANGUAGES] * len(langs)


class EvalIndex:
    """Every evaluation image's embedding in one exact faiss inner-product index, and its name
    (``SET:ID``)."""

    def __init__(self, eval_sets: Mapping[str, tuple[list[str], np.ndarray]]):
        faiss = faiss_module()
        self.names = [f"{name}:{image_id}" for name, (ids, _) in eval_sets.items() for image_id in ids]
        self.index = None
        if self.names:
            vectors = np.ascontiguousarray(np.concatenate([rows for _, rows in eval_sets.values()]), np.float32)
            self.index = faiss.IndexFlatIP(vectors.shape[1])
            self.index.add(vectors)

    def nearest(self, embeddings: np.ndarray) -> tuple[np.ndarray, list[str | None]]:
        """Each row's highest cosine to any evaluation image, and that image."""
        n = len(embeddings)
        if self.index is None or n == 0:
            return np.full(n, -np.inf), [None] * n
        similarity, nearest = self.index.search(np.ascontiguousarray(embeddings, np.float32), 1)
        return similarity[:, 0].astype(np.float64), [self.names[i] if i >= 0 else None for i in nearest[:, 0]]


def mark_eval(block: Block, index: EvalIndex, tau: float) -> None:
    """``eval_embedding`` for the open samples within cosine ``tau`` of an evaluation image."""
    open_ = block.open
    if not open_.any() or index.index is None:
        return
    rows = np.flatnonzero(open_)
    similarity, nearest = index.nearest(block.images[rows])
    for position in np.flatnonzero(similarity >= tau):
        i, image = rows[position], nearest[position]
        block.status[i], block.score[i], block.duplicate_of[i] = EVAL_EMBEDDING, similarity[position], image
        block.eval_set[i] = image.split(":", 1)[0]
        block.evidence[i] = f"cosine {similarity[position]:.3f} to evaluation image {image} (τ {tau:g})"


def apply_cut(block: Block, thresholds: Mapping[str, float], rules: Rules) -> None:
    """``low_clip_score`` for the open samples below their group's cut."""
    if not thresholds:
        return
    per_language = rules.per_language and rules.clip_score_min is None
    groups = group_names(block.langs, per_language)
    how = "at least" if rules.clip_score_min is not None else f"the top {rules.clip_score_top:.0%} of"
    for i in np.flatnonzero(block.open):
        cut = thresholds.get(groups[i])
        if cut is not None and block.scores[i] < cut:
            block.status[i], block.score[i] = LOW_CLIP_SCORE, block.scores[i]
            where = f" {groups[i]}" if per_language else ""
            block.evidence[i] = f"clip score {block.scores[i]:.3f} below {cut:.3f} ({how}{where} samples kept)"


def mark_duplicate(block: Block, row: int, similarity: float, kept_uid: str, epsilon: float) -> None:
    """``semantic_duplicate`` of ``kept_uid`` for the block's row ``row``."""
    block.status[row], block.score[row], block.duplicate_of[row] = SEMANTIC_DUPLICATE, similarity, kept_uid
    block.evidence[row] = f"cosine {similarity:.3f} to {kept_uid} (above 1 − ε = {1 - epsilon:g})"


def decide(
    uids: Sequence[str],
    langs: Sequence[str | None],
    scores: np.ndarray,
    images: np.ndarray,
    failed: np.ndarray,
    rules: Rules,
    eval_sets: Mapping[str, tuple[list[str], np.ndarray]] | None = None,
) -> Decisions:
    """Every sample's status under ``rules`` (module docstring), all in memory: the reference the
    curate stage's pipeline (``wit_builder.curate.pipeline``) streams. ``images``: N × d
    normalised image embeddings (rows of failed samples are ignored); ``scores``: the CLIP
    scores."""
    block = new_block(0, 0, uids, langs, scores, images, failed)
    if rules.eval_similarity is not None and eval_sets:
        mark_eval(block, EvalIndex(eval_sets), rules.eval_similarity)
    open_scores = np.where(block.open, block.scores, np.nan)
    thresholds = score_thresholds(open_scores, langs, rules.clip_score_min, rules.clip_score_top, rules.per_language)
    apply_cut(block, thresholds, rules)
    clusters = 0
    if rules.dedup_epsilon is not None and block.open.sum() > 1:
        members = np.flatnonzero(block.open)
        result = semantic_dedup(images[members], block.scores[members], rules.dedup_epsilon, rules.dedup_clusters,
                                rules.seed)  # fmt: skip
        clusters = int(result.cluster.max()) + 1 if len(result.cluster) else 0
        for position in np.flatnonzero(~result.kept):
            kept = members[result.duplicate_of[position]]
            mark_duplicate(block, members[position], float(result.similarity[position]), uids[kept],
                           rules.dedup_epsilon)  # fmt: skip
    return Decisions(block.status, block.score, block.duplicate_of, block.evidence, block.eval_set, thresholds,
                     clusters)  # fmt: skip
