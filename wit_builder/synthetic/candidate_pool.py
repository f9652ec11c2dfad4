"""A synthetic candidate pool with Zipf-distributed matches, for testing and timing the balance.

Real pools are dominated by a few head queries ("photo", "logo") matched millions of times and
a long tail matched a handful of times; here the i-th most common query is drawn with
probability ∝ 1 / i**exponent. By default each pair matches 1 to 3 distinct queries (60/30/10%); a pool of one match per
pair isolates each query's own draws. The pool
is written as harvest writes it (``candidates/part-NNNNN.parquet``, sorted by uid, and a
``stats.json`` naming the query list), next to a query list holding every pool query plus some
that match nothing, so the balance stage reads it exactly as it reads a real harvest folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from wit_builder.hashing import shard_of
from wit_builder.schemas import table_from_rows, write_table
from wit_builder.synthetic.seeding import numpy_rng

SOURCES = ("unigram", "bigram", "title", "wordnet")


def pool_query(rank: int) -> str:
    return f"query{rank:06d}"


MATCHES_PER_PAIR = (0.6, 0.3, 0.1)  # P(1 match), P(2), P(3)


def zipf_pool(
    pairs: int,
    queries: int,
    seed: int = 0,
    exponent: float = 1.0,
    matches_per_pair: tuple[float, ...] = MATCHES_PER_PAIR,
) -> pa.Table:
    """``pairs`` candidate rows (candidates schema) whose matches follow Zipf over ``queries``;
    ``matches_per_pair[k]`` is the chance of drawing k + 1 queries (duplicates collapse)."""
    rng = numpy_rng(seed, "candidate-pool")
    weights = 1.0 / np.arange(1, queries + 1) ** exponent
    counts = rng.choice(np.arange(1, len(matches_per_pair) + 1), size=pairs, p=matches_per_pair)
    drawn = rng.choice(queries, size=int(counts.sum()), p=weights / weights.sum())
    ends = np.cumsum(counts)
    names = [pool_query(rank + 1) for rank in range(queries)]
    rows = []
    start = 0
    for index, end in enumerate(ends.tolist()):
        matches = sorted({names[q] for q in drawn[start:end].tolist()})
        start = end
        uid = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=16).hexdigest()
        rows.append(
            {
                "uid": uid,
                "url": f"http://pool.example/{index}.jpg",
                "text": " ".join(matches),
                "page_url": None,
                "source": "zipf-pool",
                "matches": matches,
            }
        )
    return table_from_rows(rows, "candidates")


def write_zipf_pool(
    out_dir: str | Path,
    pairs: int,
    queries: int,
    files: int = 4,
    seed: int = 0,
    unmatched: int = 100,
    matches_per_pair: tuple[float, ...] = MATCHES_PER_PAIR,
) -> Path:
    """A harvest-like folder holding the pool in ``files`` files, and its query list beside it.

    The query list (``queries/queries.parquet``) has every pool query plus ``unmatched`` that no
    pair matches. Returns the harvest-like folder.
    """
    out = Path(out_dir)
    harvest = out / "harvest"
    (harvest / "candidates").mkdir(parents=True, exist_ok=True)
    table = zipf_pool(pairs, queries, seed, matches_per_pair=matches_per_pair).sort_by("uid")
    shard = np.array([shard_of(uid, files) for uid in table.column("uid").to_pylist()])
    for index in range(files):
        part = table.filter(pa.array(shard == index))
        write_table(part, str(harvest / "candidates" / f"part-{index:05d}.parquet"), "candidates")
    listed = [pool_query(rank + 1) for rank in range(queries + unmatched)]
    query_rows = [
        {"query": q, "source": SOURCES[i % len(SOURCES)], "score": 1.0, "occurrences": 1} for i, q in enumerate(listed)
    ]
    (out / "queries").mkdir(exist_ok=True)
    write_table(table_from_rows(query_rows, "queries"), str(out / "queries" / "queries.parquet"), "queries")
    stats = {"inputs": {"queries": str(out / "queries")}, "pairs_read": pairs, "kept": pairs}
    (harvest / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    return harvest
