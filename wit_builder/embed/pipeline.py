"""The embed stage as a Beam pipeline, with RunInference doing the model's work.

    samples/*.parquet ─► chunks of --chunk-rows samples ─► Reshuffle
        ─► ReadBatches: a chunk's samples in batches of --batch-size, in order   [a chunk done: skipped]
        ─► RunInference(EmbedHandler): one model per worker process, one call a batch
        ─► GroupByKey(chunk) ─► WriteChunk: embeddings/CHUNK.parquet, rows in the samples' order
        ─► stats.json, from the files written

A batch is cut from one chunk before it reaches RunInference, and RunInference is told to pass
each one on whole (``max_batch_size=1`` of these elements): the model sees the same batches in
the same shapes however the work is spread, so one worker or many write the same bytes. A
chunk is the unit of resumption: its file is written under a temporary name and renamed, and a
re-run skips a chunk whose file exists. The chunk's name carries the model's digest, the
precision and the batch size (``EmbedSettings.work_key``), so another model embeds afresh.

An image that does not decode (the download stage verified every one, so this is damage since)
is a row with its ``error`` and no embedding, never a crash; a model that gives NaN or infinite
embeddings fails the stage, since every later decision would read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import apache_beam as beam
import fsspec
import numpy as np
import pyarrow as pa
from apache_beam.ml.inference.base import KeyedModelHandler, ModelHandler, RunInference

from wit_builder.embed.arrays import half_lists
from wit_builder.embed.models import Embedder, ModelSource, load_embedder
from wit_builder.errors import StageFailed
from wit_builder.io.chunks import Chunk, read_chunk_tables
from wit_builder.io.json_files import write_json
from wit_builder.schemas import load_schema, read_batches, write_table
from wit_builder.stage_stats import STATS, StatsDoFn, run_once

COLUMNS = ["uid", "text", "image", "lang"]
HISTOGRAM_BINS = 40  # of clip_score over [-1, 1] in stats.json


@dataclass(frozen=True)
class SampleBatch:
    """Consecutive samples of one chunk: what one model call embeds."""

    chunk: str
    index: int
    uids: tuple[str, ...]
    langs: tuple[str | None, ...]
    texts: tuple[str, ...]
    images: tuple[bytes, ...]


@dataclass(frozen=True)
class EmbeddedBatch:
    """A batch's embeddings (float32 rows; NaN rows where ``errors`` holds why)."""

    chunk: str
    index: int
    uids: tuple[str, ...]
    langs: tuple[str | None, ...]
    image: np.ndarray
    text: np.ndarray
    errors: tuple[str | None, ...]


def embed_batch(embedder: Embedder, batch: SampleBatch) -> EmbeddedBatch:
    """One model call over the batch's decodable images; an image that does not decode is a row
    with its error. Non-finite embeddings fail the stage (``StageFailed``)."""
    import torch

    pixels, errors, good = [], [], []
    for position, data in enumerate(batch.images):
        try:
            pixels.append(embedder.pixels(data))
            good.append(position)
            errors.append(None)
        except Exception as error:  # any undecodable image is a recorded row, never fatal
            errors.append(f"decode_error: {type(error).__name__}: {error}"[:300])
    rows = len(batch.uids)
    width = 0
    image = text = np.zeros((rows, 0), np.float32)
    if good:
        image_rows, text_rows = embedder.embed(torch.stack(pixels), [batch.texts[i] for i in good])
        if not (np.isfinite(image_rows).all() and np.isfinite(text_rows).all()):
            bad = next(batch.uids[good[i]] for i in range(len(good)) if not np.isfinite(image_rows[i]).all()
                       or not np.isfinite(text_rows[i]).all())  # fmt: skip
            raise StageFailed(
                f"the model gave NaN or infinite embeddings (first: sample {bad} of chunk {batch.chunk}); "
                "its weights or its precision are broken: try --precision fp32, or another checkpoint"
            )
        width = image_rows.shape[1]
        image = np.full((rows, width), np.nan, np.float32)
        text = np.full((rows, width), np.nan, np.float32)
        image[good], text[good] = image_rows, text_rows
    return EmbeddedBatch(batch.chunk, batch.index, batch.uids, batch.langs, image, text, tuple(errors))


class EmbedHandler(ModelHandler[SampleBatch, EmbeddedBatch, Embedder]):
    """RunInference's model handler: loads the model a ``ModelSource`` describes once per
    worker process, and embeds each batch as it comes (the batches are made upstream)."""

    def __init__(self, source: ModelSource):
        super().__init__(min_batch_size=1, max_batch_size=1)
        self.source = source

    def load_model(self) -> Embedder:
        return load_embedder(self.source)

    def run_inference(
        self, batch: Sequence[SampleBatch], model: Embedder, inference_args: dict | None = None
    ) -> Iterable[EmbeddedBatch]:
        return [embed_batch(model, samples) for samples in batch]

    def get_num_bytes(self, batch: Sequence[SampleBatch]) -> int:
        return sum(len(image) for samples in batch for image in samples.images)

    def get_metrics_namespace(self) -> str:
        return "wit_builder.embed"


def chunk_path(out_dir: str, chunk_name: str) -> str:
    return f"{out_dir.rstrip('/')}/embeddings/{chunk_name}.parquet"


class ReadBatches(StatsDoFn):
    """A chunk's samples as ``SampleBatch``es of ``batch_size``, in order; nothing for a chunk
    whose embeddings are written already (resumed)."""

    def __init__(self, out_dir: str, batch_size: int):
        self.out_dir = out_dir
        self.batch_size = batch_size

    def process(self, chunk: Chunk) -> Iterator:
        filesystem, _ = fsspec.core.url_to_fs(self.out_dir)
        if filesystem.exists(chunk_path(self.out_dir, chunk.name)):
            self.count("chunks_resumed")
            return
        rows = [row for table in read_chunk_tables(chunk, "samples", COLUMNS) for row in table.to_pylist()]
        self.count("chunks_embedded")
        for index, first in enumerate(range(0, len(rows), self.batch_size)):
            part = rows[first : first + self.batch_size]
            yield (
                chunk.name,
                SampleBatch(
                    chunk.name,
                    index,
                    tuple(r["uid"] for r in part),
                    tuple(r["lang"] for r in part),
                    tuple(r["text"] for r in part),
                    tuple(r["image"] for r in part),
                ),
            )


def write_chunk(element: tuple[str, Iterable[EmbeddedBatch]], out_dir: str) -> str:
    """One chunk's embeddings file, its rows in the samples' order."""
    chunk_name, batches = element
    ordered = sorted(batches, key=lambda b: b.index)
    uids = [uid for b in ordered for uid in b.uids]
    errors = [error for b in ordered for error in b.errors]
    width = max((b.image.shape[1] for b in ordered), default=0)
    image = np.concatenate([_widened(b.image, width) for b in ordered]) if ordered else np.zeros((0, width))
    text = np.concatenate([_widened(b.text, width) for b in ordered]) if ordered else np.zeros((0, width))
    missing = np.array([error is not None for error in errors], dtype=bool)
    scores = np.where(missing, np.nan, np.einsum("ij,ij->i", image, text)).astype(np.float32)
    schema = load_schema("embeddings")
    table = pa.table(
        {
            "uid": pa.array(uids, pa.string()),
            "lang": pa.array([lang for b in ordered for lang in b.langs], pa.string()),
            "clip_score": pa.array(scores, pa.float32(), mask=missing),
            "image_emb": half_lists(image, missing),
            "text_emb": half_lists(text, missing),
            "error": pa.array(errors, pa.string()),
        }
    )
    write_table(table.cast(schema), chunk_path(out_dir, chunk_name), "embeddings")
    return chunk_name


def _widened(rows: np.ndarray, width: int) -> np.ndarray:
    """A batch whose every image failed has no columns: NaN rows of the chunk's width."""
    return rows if rows.shape[1] == width else np.full((rows.shape[0], width), np.nan, np.float32)


def summarise(out_dir: str, chunks: Sequence[Chunk], source: ModelSource, extra: dict, counts: dict) -> dict:
    """stats.json, from the chunks' files: rows in, rows embedded, errors, and the scores'
    distribution (a histogram over [-1, 1] and quantiles)."""
    scores: list[np.ndarray] = []
    written = errors = 0
    error_examples: list[str] = []
    for chunk in chunks:
        for table in read_batches(chunk_path(out_dir, chunk.name), "embeddings", ["uid", "clip_score", "error"]):
            written += table.num_rows
            column = table.column("clip_score").to_numpy(zero_copy_only=False)
            scores.append(column[~np.isnan(column)])
            failed = [f"{u}: {e}" for u, e in zip(table.column("uid").to_pylist(), table.column("error").to_pylist(),
                                                  strict=True) if e]  # fmt: skip
            errors += len(failed)
            error_examples.extend(failed[: max(0, 5 - len(error_examples))])
    every = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    counts_in_bins, edges = np.histogram(every, bins=HISTOGRAM_BINS, range=(-1.0, 1.0))
    samples_in = sum(chunk.rows for chunk in chunks)
    quantiles = (
        {f"p{q}": round(float(np.quantile(every, q / 100)), 4) for q in (5, 25, 50, 75, 95)} if len(every) else {}
    )
    return {
        "model": {
            "kind": source.kind,
            "name": source.name,
            "digest": source.digest,
            "embed_dim": source.embed_dim,
            "image_size": source.image_size,
        },
        "device": source.device,
        "precision": source.precision,
        "samples_in": samples_in,
        "rows_written": written,
        "embedded": written - errors,
        "errors": errors,
        "error_examples": error_examples,
        "adds_up": written == samples_in,
        "chunks": len(chunks),
        "chunks_embedded": counts.get("chunks_embedded", 0),
        "chunks_resumed": counts.get("chunks_resumed", 0),
        "clip_score": {
            "mean": round(float(every.mean()), 4) if len(every) else None,
            **quantiles,
            "histogram": {"edges": [round(float(e), 3) for e in edges], "counts": counts_in_bins.tolist()},
        },
        **extra,
    }


def build_pipeline(
    pipeline: beam.Pipeline, chunks: list[Chunk], source: ModelSource, out_dir: str, batch_size: int, extra: dict
):
    """The ``wit-builder embed`` pipeline: the chunks' embeddings, then stats.json."""
    read = (
        pipeline
        | "Chunks" >> beam.Create(chunks)
        | "SpreadChunks" >> beam.Reshuffle()
        | "ReadBatches" >> beam.ParDo(ReadBatches(out_dir, batch_size)).with_outputs(STATS, main="batches")
    )
    written = (
        read.batches
        | "Embed" >> RunInference(KeyedModelHandler(EmbedHandler(source)))
        | "ByChunk" >> beam.GroupByKey()
        | "WriteChunks" >> beam.Map(write_chunk, out_dir)
    )
    counts = read[STATS] | "SumStats" >> beam.CombinePerKey(sum)
    return run_once(
        pipeline,
        "WriteStats",
        _write_stats,
        out_dir,
        chunks,
        source,
        extra,
        beam.pvalue.AsDict(counts),
        beam.pvalue.AsList(written),
    )


def _write_stats(out_dir: str, chunks, source, extra, counts, _written) -> dict:
    stats = summarise(out_dir, chunks, source, extra, dict(counts))
    write_json(f"{out_dir.rstrip('/')}/stats.json", stats, schema="stats.embed")
    return stats
