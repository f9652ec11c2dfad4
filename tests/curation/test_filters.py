"""The curate stage's rules on arrays whose answers are known: which rule drops what, in what
order, the clip-score cut over all samples or per language, and every sample one status."""

from __future__ import annotations

import numpy as np

from wit_builder.curation.filters import (
    EMBED_ERROR,
    EVAL_EMBEDDING,
    LOW_CLIP_SCORE,
    OK,
    SEMANTIC_DUPLICATE,
    Rules,
    decide,
    score_thresholds,
)


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def world(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = unit(rng.normal(size=(n, 32)))
    scores = rng.uniform(0.1, 0.4, n)
    return [f"u{i}" for i in range(n)], images, scores


def test_each_rule_drops_what_it_should_and_every_sample_has_one_status():
    uids, images, scores = world()
    images[11] = unit(images[10:11] + 0.01)[0]  # a near copy of sample 10
    scores[10], scores[11] = 0.39, 0.38  # both above the cut; 10 scores higher, so 10 is kept
    failed = np.zeros(len(uids), bool)
    failed[5] = True
    evaluation = {"bench": (["e0.png"], images[20:21].copy())}
    decisions = decide(uids, [None] * len(uids), scores, images, failed,
                       Rules(clip_score_top=0.7, eval_similarity=0.95, dedup_epsilon=0.05), evaluation)  # fmt: skip
    status = decisions.status
    assert status[5] == EMBED_ERROR
    assert status[20] == EVAL_EMBEDDING and decisions.duplicate_of[20] == "bench:e0.png"
    assert status[11] == SEMANTIC_DUPLICATE and decisions.duplicate_of[11] == "u10" and status[10] == OK
    assert decisions.score[11] > 0.95 and "cosine" in decisions.evidence[11]
    low = np.flatnonzero(status == LOW_CLIP_SCORE)
    cut = decisions.thresholds["all"]
    assert (scores[low] < cut).all() and (scores[status == OK] >= cut).all()
    considered = len(uids) - 2  # not the failed one, nor the evaluation copy
    assert abs(len(low) - 0.3 * considered) <= 1
    assert set(status) <= {OK, EMBED_ERROR, EVAL_EMBEDDING, LOW_CLIP_SCORE, SEMANTIC_DUPLICATE}
    assert all((s == OK) == (e is None) for s, e in zip(status, decisions.evidence, strict=True) if s != EMBED_ERROR)


def test_rules_switched_off_drop_nothing():
    uids, images, scores = world()
    decisions = decide(uids, [None] * len(uids), scores, images, np.zeros(len(uids), bool),
                       Rules(eval_similarity=None, dedup_epsilon=None))  # fmt: skip
    assert (decisions.status == OK).all() and decisions.thresholds == {}


def test_an_absolute_minimum_is_the_cut_for_everyone():
    scores = np.array([0.1, 0.2, 0.3, np.nan])
    assert score_thresholds(scores, [None] * 4, 0.25, None, False) == {"all": 0.25}


def test_per_language_keeps_the_top_fraction_within_each_language():
    # German captions score lower under this model; over all samples they would all go.
    scores = np.concatenate([np.linspace(0.30, 0.40, 100), np.linspace(0.10, 0.20, 100)])
    langs = ["en"] * 100 + ["de"] * 100
    together = score_thresholds(scores, langs, None, 0.5, False)
    apart = score_thresholds(scores, langs, None, 0.5, True)
    assert together["all"] >= 0.30  # the cut falls among the English: every German pair below it
    assert 0.14 < apart["de"] < 0.16 and 0.34 < apart["en"] < 0.36
    uids = [f"u{i}" for i in range(200)]
    images = unit(np.random.default_rng(1).normal(size=(200, 16)))
    rules = Rules(clip_score_top=0.5, per_language=True, eval_similarity=None, dedup_epsilon=None)
    decisions = decide(uids, langs, scores, images, np.zeros(200, bool), rules)
    kept = decisions.status == OK
    assert kept[:100].sum() == 50 and kept[100:].sum() == 50
