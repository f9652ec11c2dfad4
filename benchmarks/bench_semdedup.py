"""Benchmark: semantic deduplication (``curation.semantic_dedup``) at 10⁵ and 10⁶ embeddings.

    python benchmarks/bench_semdedup.py [--sizes 100000,1000000] [--dim 512] [--exact-at 100000]
                                        [--stage-at 100000 --stage-workers 1]

The embeddings look like a web pool's image embeddings, not like random vectors: 2,000 topics
(a sample is its topic's direction plus as much noise again, so unrelated samples of one topic
sit at cosine 0.4-0.6, as CLIP's do), and about one sample in thirty is a near copy, in groups
of 2-5 (cosine about 0.99 to each other: a product photo re-shot, a scene re-rendered), which
is what SemDeDup is for. Scores (the pairs' CLIP scores) are drawn at random.

For each size, in a fresh process: the time of spherical k-means (k = √N, faiss) and of the
dedup within clusters, the peak memory, and the share of the planted copies removed. At
``--exact-at`` it also runs the exact rule over all pairs (``exact_dedup``, a faiss range
search) and prints ``agreement=`` (the share of samples both keep or both drop; goal ≥ 0.99).
At ``--stage-at`` it runs the curate stage itself, streamed through Beam, over the pool written
as the embed stage writes it, and prints its time, its peak memory and its agreement with the
in-memory core (above 256 samples a centroid, each trains its k-means on another sample).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def pool(n: int, dim: int, seed: int = 0, topics: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(embeddings, scores, group): ``group`` is the near-copy group of a sample, -1 for none."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    originals = int(n / 1.035)  # about one sample in thirty is a copy, in groups of 2-5
    topic = rng.integers(0, topics, originals)
    x = centres[topic]
    x += rng.standard_normal(size=(originals, dim), dtype=np.float32) / np.float32(np.sqrt(dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    group = np.full(originals, -1, np.int64)
    copies, members = [], []
    sources = iter(rng.permutation(originals))  # each original in one group at most
    g = 0
    while len(copies) < n - originals:
        source = int(next(sources))
        for _ in range(int(rng.integers(1, 5))):  # 1-4 copies: groups of 2-5
            copies.append(x[source] + rng.normal(scale=0.12 / np.sqrt(dim), size=dim).astype(np.float32))
            members.append(g)
        group[source] = g
        g += 1
    extra = np.array(copies[: n - originals], np.float32)
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    x = np.concatenate([x, extra])
    group = np.concatenate([group, np.array(members[: n - originals])])
    return x, rng.random(n), group


def run_one(n: int, dim: int, exact: bool) -> dict:
    from wit_builder.curation.semantic_dedup import clusters_for, exact_dedup, semantic_dedup

    x, scores, group = pool(n, dim)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    found = semantic_dedup(x, scores, clusters=clusters_for(n))
    seconds = time.perf_counter() - started
    grouped = group >= 0
    groups = np.unique(group[grouped])
    should_drop = int(grouped.sum() - len(groups))  # all but one of each group
    dropped_in_groups = int((~found.kept & grouped).sum())
    result = {
        "n": n,
        "seconds": round(seconds, 2),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "embeddings_mib": round(x.nbytes / 2**20),
        "peak_before_mib": round(before),
        "dropped": int((~found.kept).sum()),
        "planted_copies_removed": round(dropped_in_groups / max(should_drop, 1), 4),
        "dropped_outside_groups": int((~found.kept & ~grouped).sum()),
    }
    if exact:
        started = time.perf_counter()
        reference = exact_dedup(x, scores)
        result["exact_seconds"] = round(time.perf_counter() - started, 2)
        result["agreement"] = round(float((reference == found.kept).mean()), 5)
    return result


def run_stage(n: int, dim: int, workers: int) -> dict:
    """The pool as the embed stage writes it (files of 10,000 samples, float16), through the
    curate stage (``wit-builder curate``, its defaults: SemDeDup and nothing else) in a child
    process: its time, the child's peak memory, and agreement with ``semantic_dedup`` in memory."""
    import tempfile
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from wit_builder.curation.semantic_dedup import clusters_for, semantic_dedup
    from wit_builder.embed.arrays import half_lists

    x, scores, _ = pool(n, dim)
    with tempfile.TemporaryDirectory() as folder:
        embedded = Path(folder) / "embed" / "embeddings"
        embedded.mkdir(parents=True)
        for part, first in enumerate(range(0, n, 10_000)):
            rows = slice(first, min(n, first + 10_000))
            count = rows.stop - rows.start
            table = pa.table({
                "uid": [f"s{i:08d}" for i in range(rows.start, rows.stop)],
                "lang": pa.array([None] * count, pa.string()),
                "clip_score": pa.array(scores[rows].astype(np.float32)),
                "image_emb": half_lists(x[rows]),
                "text_emb": half_lists(x[rows]),
                "error": pa.array([None] * count, pa.string()),
            })  # fmt: skip
            pq.write_table(table, embedded / f"part-{part:04d}-{part:012x}.parquet")
        out = Path(folder) / "curate"
        flags = [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"] if workers > 1 else []
        command = [sys.executable, "-c", "from wit_builder.cli import console_main; console_main()", "curate",
                   "--embeddings", str(embedded.parent), "--out", str(out), *flags]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        decided = pa.concat_tables([pq.read_table(p, columns=["status"]) for p in sorted((out / "curation").glob("*"))])
    kept = np.array(decided["status"].to_pylist()) == "ok"
    stored = np.array(half_lists(x).flatten().to_numpy(zero_copy_only=False), np.float32).reshape(n, dim)
    reference = semantic_dedup(stored, scores.astype(np.float32).astype(np.float64), clusters=clusters_for(n))
    return {
        "seconds": round(seconds, 1),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "files_mib": round(n * dim * 4 / 2**20),
        "dropped": int((~kept).sum()),
        "agreement": round(float((kept == reference.kept).mean()), 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--exact-at", type=int, default=100_000)
    parser.add_argument("--stage-at", type=int, default=100_000, help="run the curate stage at this size (0: not)")
    parser.add_argument("--stage-workers", type=int, default=1)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process: one size
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.dim, args.one == args.exact_at)))
        return
    for n in (int(size) for size in args.sizes.split(",")):
        command = [sys.executable, __file__, "--one", str(n), "--dim", str(args.dim), "--exact-at", str(args.exact_at)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{r['n']:,} embeddings of {args.dim} ({r['embeddings_mib']:,} MiB): k-means + dedup {r['seconds']} s, "
            f"peak {r['peak_mib']:,} MiB (with the pool made: {r['peak_before_mib']:,} MiB); "
            f"dropped {r['dropped']:,}, planted copies removed {r['planted_copies_removed']:.1%}, "
            f"dropped outside the planted groups {r['dropped_outside_groups']:,}"
        )
        if "agreement" in r:
            print(f"  exact all-pairs rule: {r['exact_seconds']} s; agreement={r['agreement']}")
    if args.stage_at:
        r = run_stage(args.stage_at, args.dim, args.stage_workers)
        print(
            f"curate stage (Beam, streamed, {args.stage_workers} worker(s)) at {args.stage_at:,} x {args.dim}: "
            f"{r['seconds']} s, peak of its processes {r['peak_mib']:,} MiB (float32 embeddings: {r['files_mib']:,} "
            f"MiB); dropped {r['dropped']:,}; agreement with semantic_dedup in memory={r['agreement']}"
        )


if __name__ == "__main__":
    main()
