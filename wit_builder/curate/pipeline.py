"""The curate stage as a Beam pipeline: the rules of ``curation.filters`` over every embedded
sample, streamed, so that no process holds the N embeddings.

    embeddings/*.parquet, each file in blocks of ≤ BLOCK_ROWS samples
      ─► MarkEval: near an evaluation image? (the sets' faiss index, built once a worker);
         from here on a block carries its decisions, not its embeddings
      ─► the clip-score cut, exact, in two streamed passes (``curation.score_cut``):
           histograms by group ─► the cut's bin ─► that bin's scores ─► the cut   [--clip-score-top]
      ─► Cut: low_clip_score
      ─► SemDeDup: the open samples counted ─► k, and the share that trains the k-means
           ─► each file read again: a hash-chosen sample ─► k-means, once ─► centroids
           ─► each file read again: its open samples by nearest centroid (a side input)
           ─► GroupByKey(cluster) ─► the greedy rule within each cluster ─► duplicates
      ─► CoGroupByKey(file): the blocks' decisions and the file's duplicates
      ─► curation/FILE.parquet, rows in the embeddings' order ─► stats.json

The embeddings travel through one shuffle only, the one that brings each cluster together, as
the float16 they are stored in; every other pass reads the files again. What one worker holds:
a block; the centroids (k × d, k about √N); the k-means' training sample (256 a centroid, at
most ``--dedup-sample``); one cluster (about √N samples); one file's decisions; a histogram a
language and one bin's distinct scores. The decisions equal ``curation.filters.decide``'s,
which holds everything in memory (tested), and one worker or several write the same bytes: the
blocks are cut per file, the k-means is trained once on a sample sorted by position, and every
order is by (score, file, row).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import apache_beam as beam
import numpy as np
import pyarrow as pa

from wit_builder.curation.filters import (
    ALL_LANGUAGES,
    Block,
    EvalIndex,
    Rules,
    apply_cut,
    group_names,
    mark_duplicate,
    mark_eval,
    new_block,
)
from wit_builder.curation.score_cut import BINS, cut_value, histogram, locate, values_in
from wit_builder.curation.semantic_dedup import (
    Assigner,
    clusters_for,
    dedup_ordered,
    in_kmeans_sample,
    kmeans_share,
    train_centroids,
)
from wit_builder.stage_stats import run_once

BLOCK_ROWS = 4096
COLUMNS = ["uid", "lang", "clip_score", "image_emb"]


def image_matrix(column: pa.ChunkedArray | pa.Array, rows: int) -> np.ndarray:
    """List embeddings as a rows × d matrix of their own type, float16 as stored (NaN rows where
    a sample has none)."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    if column.null_count == 0:
        flat = pa.concat_arrays([chunk.flatten() for chunk in chunks]) if chunks else pa.array([], pa.float16())
        values = flat.to_numpy(zero_copy_only=False)
        return values.reshape(rows, len(values) // max(rows, 1))
    listed = column.to_pylist()
    width = max((len(r) for r in listed if r is not None), default=0)
    matrix = np.full((rows, width), np.nan, np.float16)
    for i, row in enumerate(listed):
        if row is not None:
            matrix[i] = row
    return matrix


def read_blocks(path: str, columns: Sequence[str] = COLUMNS) -> Iterator[tuple[int, pa.Table]]:
    """One embeddings file as (first row, table) blocks, cut the same way on every read."""
    from wit_builder.schemas import read_batches

    start = 0
    for table in read_batches(path, "embeddings", list(columns), batch_rows=BLOCK_ROWS):
        yield start, table
        start += table.num_rows


def new_block_of(file: int, start: int, table: pa.Table) -> Block:
    """A block with its image embeddings (float16, as stored); a sample without a finite score
    or image embedding is the embed stage's failure (``embed_error``)."""
    scores = table.column("clip_score").to_numpy(zero_copy_only=False).astype(np.float64)
    images = image_matrix(table.column("image_emb"), table.num_rows)
    failed = ~np.isfinite(scores) | ~np.isfinite(images).all(axis=1)
    return new_block(file, start, table.column("uid").to_pylist(), table.column("lang").to_pylist(), scores, images,
                     failed)  # fmt: skip


class MarkEval(beam.DoFn):
    """One file's blocks, each with ``eval_embedding`` decided, without their embeddings. The
    evaluation sets' index is built once a worker, in ``setup``."""

    def __init__(self, eval_sets: Mapping[str, tuple[list[str], np.ndarray]], tau: float | None):
        self.eval_sets = dict(eval_sets)
        self.tau = tau

    def setup(self):
        self.index = EvalIndex(self.eval_sets) if self.tau is not None and self.eval_sets else None

    def process(self, element: tuple[int, str]) -> Iterator[Block]:
        file, path = element
        for start, table in read_blocks(path):
            block = new_block_of(file, start, table)
            if self.index is not None:
                mark_eval(block, self.index, self.tau)
            yield block.copy(images=False)


def _open_scores(block: Block, per_language: bool) -> Iterator[tuple[str, np.ndarray]]:
    """The open samples' scores, by the cut's group."""
    open_ = block.open
    if not open_.any():
        return
    names = np.array(group_names(block.langs, per_language), dtype=object)
    for name in sorted(set(names[open_])):
        yield name, block.scores[open_ & (names == name)]


def block_histograms(block: Block, per_language: bool) -> Iterator[tuple[str, tuple[np.ndarray, np.ndarray]]]:
    """Pass 1: each group's histogram of the block, sparse (the bins it fills, their counts)."""
    for name, scores in _open_scores(block, per_language):
        counts = histogram(scores)
        filled = np.flatnonzero(counts)
        yield name, (filled, counts[filled])


class SumHistograms(beam.CombineFn):
    """Sparse histograms summed into one dense one (``score_cut.BINS`` counts)."""

    def create_accumulator(self) -> np.ndarray:
        return np.zeros(BINS, np.int64)

    def add_input(self, accumulator: np.ndarray, sparse) -> np.ndarray:
        filled, counts = sparse
        accumulator[filled] += counts
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[np.ndarray]) -> np.ndarray:
        return sum(accumulators, np.zeros(BINS, np.int64))

    def extract_output(self, accumulator: np.ndarray) -> np.ndarray:
        return accumulator


def bin_values(block: Block, per_language: bool, plan: Mapping[str, tuple[int, int, int]]) -> Iterator:
    """Pass 2: each group's distinct scores in the bin that holds its cut."""
    for name, scores in _open_scores(block, per_language):
        found = values_in(scores, plan[name][0])
        if found:
            yield name, found


def _locate_all(histograms: Mapping[str, np.ndarray], top: float) -> dict[str, tuple[int, int, int]]:
    return {name: locate(counts, top) for name, counts in sorted(histograms.items())}


def _cuts(plan: Mapping[str, tuple[int, int, int]], values: Mapping[str, Counter]) -> dict[str, float]:
    return {name: cut_value(values[name], rank) for name, (_, rank, _) in sorted(plan.items())}


def _merge_counters(counters: Iterable[Counter]) -> Counter:
    merged: Counter = Counter()
    for counter in counters:
        merged.update(counter)
    return merged


def _cut(block: Block, thresholds: Mapping[str, float], rules: Rules) -> Block:
    block = block.copy()
    apply_cut(block, thresholds, rules)
    return block


@dataclass(frozen=True)
class DedupPlan:
    """k, and the share of the open samples that trains the k-means (none: too few to dedup)."""

    clusters: int
    share: float


def _dedup_plan(open_counts: Sequence[int], rules: Rules, sample_cap: int) -> DedupPlan | None:
    total = sum(open_counts)
    if total < 2:
        return None
    k = min(rules.dedup_clusters or clusters_for(total), total)
    return DedupPlan(k, kmeans_share(total, k, sample_cap))


def _open_images(element) -> Iterator[tuple[Block, np.ndarray, np.ndarray]]:
    """A file read again, block by block: (its decided block, the open rows, their image
    embeddings as stored). A file whose samples changed since the first read fails the stage."""
    from wit_builder.errors import StageFailed

    _, grouped = element
    (path,) = grouped["path"]
    decided = {block.start: block for block in grouped["blocks"]}
    for start, table in read_blocks(path, ("uid", "image_emb")):
        block = decided.get(start)
        if block is None or block.uids != table.column("uid").to_pylist():
            raise StageFailed(f"{path} changed while the curate stage read it; run the stage again")
        rows = np.flatnonzero(block.open)
        if len(rows):
            yield block, rows, image_matrix(table.column("image_emb").take(pa.array(rows)), len(rows))


def kmeans_rows(element, plan: DedupPlan | None, seed: int) -> Iterator[tuple[tuple[int, int], np.ndarray]]:
    """A file's open samples that train the k-means, keyed by position."""
    if plan is None:
        return
    for block, rows, images in _open_images(element):
        chosen = in_kmeans_sample([block.uids[i] for i in rows], seed, plan.share)
        for position in np.flatnonzero(chosen):
            yield (block.file, block.start + int(rows[position])), images[position]


def _train(plan: DedupPlan | None, sample: Sequence[tuple[tuple[int, int], np.ndarray]], seed: int):
    """The centroids, from the sample in position order (None: no dedup)."""
    if plan is None or not sample:
        return None
    ordered = sorted(sample, key=lambda item: item[0])
    x = np.stack([vector for _, vector in ordered]).astype(np.float32)
    return train_centroids(x, min(plan.clusters, len(x)), seed)


@dataclass(frozen=True)
class Members:
    """A block's open samples that fall in one cluster (``images`` as stored, float16)."""

    files: np.ndarray
    rows: np.ndarray
    uids: tuple[str, ...]
    scores: np.ndarray
    images: np.ndarray


class Assign(beam.DoFn):
    """A file's open samples by nearest centroid; the centroids' index is built once for each
    centroids side input a worker sees."""

    def setup(self):
        self._for = None
        self._assigner = None

    def process(self, element, centroids) -> Iterator[tuple[int, Members]]:
        if centroids is None:
            return
        if self._for is not centroids:
            self._for, self._assigner = centroids, Assigner(centroids)
        for block, rows, images in _open_images(element):
            clusters = self._assigner(images.astype(np.float32))
            for cluster in np.unique(clusters):
                chosen = clusters == cluster
                yield (
                    int(cluster),
                    Members(
                        np.full(int(chosen.sum()), block.file, np.int64),
                        block.start + rows[chosen].astype(np.int64),
                        tuple(block.uids[i] for i in rows[chosen]),
                        block.scores[rows[chosen]],
                        images[chosen],
                    ),
                )


class DedupCluster(beam.DoFn):
    """The greedy rule within one cluster, best score first (ties by file, then row): each
    duplicate as (file, (row, cosine, the kept sample's uid))."""

    def __init__(self, epsilon: float):
        self.epsilon = epsilon

    def process(self, element: tuple[int, Iterable[Members]]):
        _, parts = element
        parts = list(parts)
        files = np.concatenate([p.files for p in parts])
        rows = np.concatenate([p.rows for p in parts])
        scores = np.concatenate([p.scores for p in parts])
        uids = [uid for p in parts for uid in p.uids]
        order = np.lexsort((rows, files, -scores))
        images = np.concatenate([p.images for p in parts])[order].astype(np.float32)
        copies, cosines = dedup_ordered(images, self.epsilon)
        for position in np.flatnonzero(copies >= 0):
            sample, kept = order[position], order[copies[position]]
            yield int(files[sample]), (int(rows[sample]), float(cosines[position]), uids[kept])


def _by_file(block: Block) -> tuple[int, Block]:
    return block.file, block


def write_decisions(element, out_dir: str, epsilon: float | None) -> str:
    """One file's decisions, rows in its embeddings' order, as ``curation/NAME.parquet``."""
    from wit_builder.schemas import load_schema, write_table

    _, grouped = element
    (name,) = grouped["name"]
    blocks = sorted((b.copy() for b in grouped["blocks"]), key=lambda b: b.start)
    where = {b.start: b for b in blocks}
    starts = np.array(sorted(where), np.int64)
    for row, cosine, kept_uid in sorted(grouped["duplicates"]):
        block = where[int(starts[np.searchsorted(starts, row, side="right") - 1])]
        mark_duplicate(block, row - block.start, cosine, kept_uid, epsilon)
    schema = load_schema("curation")
    scores = np.concatenate([b.scores for b in blocks]) if blocks else np.zeros(0)
    decided = np.concatenate([b.score for b in blocks]) if blocks else np.zeros(0)
    table = pa.table(
        {
            "uid": pa.array([u for b in blocks for u in b.uids], pa.string()),
            "status": pa.array([s for b in blocks for s in b.status.tolist()], pa.string()),
            "clip_score": pa.array(scores.astype(np.float32), pa.float32(), mask=np.isnan(scores)),
            "score": pa.array(decided, pa.float64(), mask=np.isnan(decided)),
            "duplicate_of": pa.array([d for b in blocks for d in b.duplicate_of], pa.string()),
            "list": pa.array([e for b in blocks for e in b.eval_set], pa.string()),
            "evidence": pa.array([e for b in blocks for e in b.evidence], pa.string()),
        }
    )
    write_table(table.cast(schema), f"{out_dir}/curation/{name}", "curation")
    return name


def build_pipeline(
    pipeline: beam.Pipeline,
    paths: Sequence[str],
    rules: Rules,
    eval_sets: Mapping[str, tuple[list[str], np.ndarray]],
    out_dir: str,
    sample_cap: int,
    write_stats,
):
    """The ``wit-builder curate`` pipeline; ``write_stats(thresholds, plan, written)`` ends it."""
    files = list(enumerate(paths))
    blocks = (
        pipeline
        | "Files" >> beam.Create(files)
        | "SpreadFiles" >> beam.Reshuffle()
        | "MarkEval" >> beam.ParDo(MarkEval(eval_sets, rules.eval_similarity))
    )
    per_language = rules.per_language and rules.clip_score_min is None
    if rules.clip_score_min is not None:
        thresholds = run_once(pipeline, "Thresholds", lambda: {ALL_LANGUAGES: float(rules.clip_score_min)})
    elif rules.clip_score_top is not None:
        histograms = (
            blocks
            | "Histograms" >> beam.FlatMap(block_histograms, per_language)
            | "SumHistograms" >> beam.CombinePerKey(SumHistograms())
        )
        plan = run_once(pipeline, "LocateCut", _locate_all, beam.pvalue.AsDict(histograms), rules.clip_score_top)
        values = (
            blocks
            | "BinValues" >> beam.FlatMap(bin_values, per_language, beam.pvalue.AsSingleton(plan))
            | "MergeBinValues" >> beam.CombinePerKey(_merge_counters)
        )
        thresholds = run_once(pipeline, "Thresholds", _cuts, beam.pvalue.AsSingleton(plan),
                              beam.pvalue.AsDict(values))  # fmt: skip
    else:
        thresholds = run_once(pipeline, "Thresholds", dict)
    cut = blocks | "Cut" >> beam.Map(_cut, beam.pvalue.AsSingleton(thresholds), rules) | "ByFile" >> beam.Map(_by_file)
    paths_by_file = pipeline | "Paths" >> beam.Create(files)
    if rules.dedup_epsilon is not None:
        open_counts = cut | "OpenCounts" >> beam.Map(lambda keyed: int(keyed[1].open.sum()))
        dedup = run_once(pipeline, "DedupPlan", _dedup_plan, beam.pvalue.AsList(open_counts), rules, sample_cap)
        files_again = {"path": paths_by_file, "blocks": cut} | "FilesAgain" >> beam.CoGroupByKey()
        sample = files_again | "KMeansSample" >> beam.FlatMap(kmeans_rows, beam.pvalue.AsSingleton(dedup),
                                                              rules.seed)  # fmt: skip
        centroids = run_once(pipeline, "KMeans", _train, beam.pvalue.AsSingleton(dedup), beam.pvalue.AsList(sample),
                             rules.seed)  # fmt: skip
        duplicates = (
            files_again
            | "Assign" >> beam.ParDo(Assign(), beam.pvalue.AsSingleton(centroids))
            | "ByCluster" >> beam.GroupByKey()
            | "DedupClusters" >> beam.ParDo(DedupCluster(rules.dedup_epsilon))
        )
    else:
        dedup = run_once(pipeline, "DedupPlan", lambda: None)
        duplicates = pipeline | "NoDuplicates" >> beam.Create([])
    names = pipeline | "Names" >> beam.Create([(file, path.rsplit("/", 1)[-1]) for file, path in files])
    written = (
        {"name": names, "blocks": cut, "duplicates": duplicates}
        | "Decisions" >> beam.CoGroupByKey()
        | "WriteDecisions" >> beam.Map(write_decisions, out_dir, rules.dedup_epsilon)
    )
    return run_once(
        pipeline,
        "WriteStats",
        write_stats,
        beam.pvalue.AsSingleton(thresholds),
        beam.pvalue.AsSingleton(dedup),
        beam.pvalue.AsList(written),
    )
