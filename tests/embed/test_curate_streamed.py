"""The curate stage's pipeline streams what ``curation.filters.decide`` does in memory: on
embeddings files written here (planted near copies, evaluation copies, two languages scoring on
different scales, a failed row), its decisions equal ``decide``'s on the same numbers, for every
rule set, with files cut in several blocks; two worker processes write the same bytes; and the
k-means trained on a hash-chosen share still finds the copies."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wit_builder.cli import main
from wit_builder.curate import pipeline as curate_pipeline
from wit_builder.curation.filters import Rules, decide
from wit_builder.embed.arrays import half_lists

FILES, ROWS, DIM = 3, 250, 24


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> Path:
    """An embed-stage folder: three files of 250 samples; 40 originals have 1-3 near copies
    each somewhere in the files; German captions score lower; one sample failed; an
    evaluation set holds copies of two samples' pictures."""
    rng = np.random.default_rng(7)
    n = FILES * ROWS
    images = unit(rng.normal(size=(n, DIM)))
    for source in range(40):
        for copy in rng.choice(np.arange(100, n), int(rng.integers(1, 4)), replace=False):
            images[copy] = unit(images[source : source + 1] + rng.normal(scale=0.01, size=(1, DIM)))[0]
    langs = np.where(rng.random(n) < 0.3, "de", "en")
    scores = np.where(langs == "de", rng.uniform(0.05, 0.2, n), rng.uniform(0.2, 0.4, n)).astype(np.float32)
    scores[[17, 18]] = scores[16]  # ties at the cut are kept together
    missing = np.zeros(n, bool)
    missing[300] = True
    folder = tmp_path_factory.mktemp("curate") / "embed"
    (folder / "embeddings").mkdir(parents=True)
    (folder / "eval_embeddings").mkdir()
    for file in range(FILES):
        rows = slice(file * ROWS, (file + 1) * ROWS)
        table = pa.table({
            "uid": [f"u{i:04d}" for i in range(rows.start, rows.stop)],
            "lang": langs[rows].tolist(),
            "clip_score": pa.array(scores[rows], pa.float32(), mask=missing[rows]),
            "image_emb": half_lists(images[rows], missing[rows]),
            "text_emb": half_lists(images[rows], missing[rows]),
            "error": pa.array([("decode_error: broken" if m else None) for m in missing[rows]], pa.string()),
        })  # fmt: skip
        pq.write_table(table, folder / "embeddings" / f"part-{file}.parquet")
    evaluation = pa.table({"id": ["e0.png", "e1.png"], "image_emb": half_lists(images[[250, 260]])})
    pq.write_table(evaluation, folder / "eval_embeddings" / "bench.parquet")
    return folder


def read_back(folder: Path):
    """The numbers as the stage reads them (float16 embeddings, float32 scores)."""
    tables = [pq.read_table(p) for p in sorted((folder / "embeddings").glob("*.parquet"))]
    table = pa.concat_tables(tables)
    scores = table["clip_score"].to_numpy(zero_copy_only=False).astype(np.float64)
    failed = np.isnan(scores)
    images = np.array([row if row is not None else [0.0] * DIM for row in table["image_emb"].to_pylist()],
                      np.float32)  # fmt: skip
    evaluation = pq.read_table(folder / "eval_embeddings" / "bench.parquet")
    eval_images = np.array(evaluation["image_emb"].to_pylist(), np.float32)
    return (
        table["uid"].to_pylist(),
        table["lang"].to_pylist(),
        scores,
        images,
        failed,
        {"bench": (evaluation["id"].to_pylist(), eval_images)},
    )


def file_digests(out: Path) -> dict[str, str]:
    paths = [*sorted((out / "curation").glob("*.parquet")), out / "stats.json"]
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def decided(out: Path) -> list[dict]:
    return [row for p in sorted((out / "curation").glob("*.parquet")) for row in pq.read_table(p).to_pylist()]


CASES = {
    "top over all": (["--clip-score-top", "0.6"], Rules(clip_score_top=0.6)),
    "top per language": (["--clip-score-top", "0.5", "--per-language"], Rules(clip_score_top=0.5, per_language=True)),
    "minimum, no evaluation check": (
        ["--clip-score-min", "0.15", "--eval-similarity", "inf"],
        Rules(clip_score_min=0.15, eval_similarity=None),
    ),
    "dedup alone, 12 clusters": (["--dedup-clusters", "12"], Rules(dedup_clusters=12)),
    "no dedup": (["--clip-score-top", "0.3", "--no-semantic-dedup"], Rules(clip_score_top=0.3, dedup_epsilon=None)),
}


@pytest.mark.parametrize("case", CASES)
def test_the_pipeline_decides_as_the_in_memory_reference(embedded, tmp_path, monkeypatch, case):
    monkeypatch.setattr(curate_pipeline, "BLOCK_ROWS", 64)  # four blocks a file
    flags, rules = CASES[case]
    out = tmp_path / "curate"
    assert main(["curate", "--embeddings", str(embedded), "--out", str(out), *flags]) == 0
    uids, langs, scores, images, failed, eval_sets = read_back(embedded)
    expected = decide(uids, langs, scores, images, failed, rules, eval_sets)
    rows = decided(out)
    assert [r["uid"] for r in rows] == uids
    assert [r["status"] for r in rows] == expected.status.tolist()
    assert [r["duplicate_of"] for r in rows] == expected.duplicate_of
    assert [r["evidence"] for r in rows] == expected.evidence
    stats = json.loads((out / "stats.json").read_text())
    assert stats["thresholds"] == {name: round(v, 4) for name, v in expected.thresholds.items()}
    assert stats["adds_up"] and stats["samples_in"] == len(uids)
    assert stats["rules"]["dedup_clusters"] == expected.clusters


def test_the_planted_faults_are_found(embedded, tmp_path):
    out = tmp_path / "curate"
    assert main(["curate", "--embeddings", str(embedded), "--out", str(out), "--clip-score-top", "0.9"]) == 0
    by_uid = {r["uid"]: r for r in decided(out)}
    assert by_uid["u0300"]["status"] == "embed_error"
    assert by_uid["u0250"]["status"] == "eval_embedding" and by_uid["u0250"]["duplicate_of"] == "bench:e0.png"
    duplicates = [r for r in by_uid.values() if r["status"] == "semantic_duplicate"]
    assert len(duplicates) >= 40 and all(r["score"] > 0.95 for r in duplicates)


@pytest.mark.slow  # two more runs of the stage, one on two worker processes
def test_two_worker_processes_and_a_sampled_kmeans_write_the_same_bytes(embedded, tmp_path):
    """``--dedup-sample 200`` trains the k-means on a hash-chosen share of the samples: the
    copies are still found, and one worker or two write the same files."""
    flags = ["--clip-score-top", "0.8", "--dedup-sample", "200"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["curate", "--embeddings", str(embedded), "--out", str(one), *flags]) == 0
    assert main(["curate", "--embeddings", str(embedded), "--out", str(two), *flags,
                 "--direct_num_workers=2", "--direct_running_mode=multi_processing"]) == 0  # fmt: skip
    assert file_digests(one) == file_digests(two)
    stats = json.loads((one / "stats.json").read_text())
    assert 0 < stats["rules"]["dedup_sample_share"] < 1
    assert stats["statuses"]["semantic_duplicate"] >= 30
