"""SemDeDup on planted near copies: every copy found, the best-scoring one of each group kept,
agreement with the exact all-pairs rule, and NaN refused."""

from __future__ import annotations

import numpy as np
import pytest

from wit_builder.curation.semantic_dedup import clusters_for, exact_dedup, semantic_dedup


def planted(originals: int = 300, groups: int = 60, copies: int = 2, dim: int = 32, seed: int = 0):
    """Unrelated unit vectors, and for ``groups`` of them ``copies`` near copies (cosine > 0.98)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(originals, dim)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    rows, group_of = [base], list(range(originals))
    for g in range(groups):
        near = base[g] + rng.normal(scale=0.02, size=(copies, dim)).astype(np.float32)
        rows.append(near / np.linalg.norm(near, axis=1, keepdims=True))
        group_of += [g] * copies
    return np.concatenate(rows), np.array(group_of), rng.random(originals + groups * copies)


def test_every_near_copy_is_found_and_the_best_scored_of_its_group_is_kept():
    x, group, scores = planted()
    found = semantic_dedup(x, scores, epsilon=0.05, seed=1)
    assert found.kept.sum() == 300  # one per group, every unrelated vector
    for g in range(60):
        members = np.flatnonzero(group == g)
        best = members[np.argmax(scores[members])]
        assert found.kept[members].sum() == 1 and found.kept[best]
        assert all(found.duplicate_of[m] == best and found.similarity[m] > 0.95 for m in members if m != best)
    assert (found.duplicate_of[found.kept] == -1).all() and np.isnan(found.similarity[found.kept]).all()


def test_it_agrees_with_the_exact_all_pairs_rule_and_is_deterministic():
    x, _, scores = planted(originals=3000, groups=600, copies=3, seed=5)
    found = semantic_dedup(x, scores, epsilon=0.05, seed=3)
    exact = exact_dedup(x, scores, epsilon=0.05)
    assert (found.kept == exact).mean() >= 0.99
    again = semantic_dedup(x, scores, epsilon=0.05, seed=3)
    assert (again.kept == found.kept).all() and (again.cluster == found.cluster).all()


def test_without_scores_the_earlier_copy_is_kept_and_bad_embeddings_are_refused():
    x, _, _ = planted(originals=50, groups=10, copies=1)
    found = semantic_dedup(x, None, epsilon=0.05)
    assert found.kept[:50].all() and not found.kept[50:].any()
    assert (found.duplicate_of[50:] == np.arange(10)).all()
    bad = x.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        semantic_dedup(bad)
    assert clusters_for(1) == 1 and clusters_for(10_000) == 100
    single = semantic_dedup(x[:1])
    assert single.kept.tolist() == [True]


def test_more_clusters_than_samples_is_one_sample_a_cluster_at_most():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    result = semantic_dedup(x, clusters=100_000_000)
    assert result.kept.all() and len(set(result.cluster.tolist())) <= 8
