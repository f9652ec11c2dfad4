"""A synthetic download-stage folder: ``samples/part-NNNNN.parquet`` holding real JPEGs whose
pairs match queries with Zipf frequencies, for testing and timing the shard stage.

The images are photo-like (smooth colour fields with detail at several scales, not flat
shapes), so a 256 px JPEG at quality 95 weighs what a downloaded photo does after
img2dataset-style resizing: about 20-40 KB. ``distinct`` pictures are rendered and reused
under different uids (the shard stage neither decodes nor dedupes), which keeps a large pool
cheap to make.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa

from wit_builder.schemas import SPARSE_COLUMNS, load_schema, sparse_left_out, write_table
from wit_builder.synthetic.candidate_pool import zipf_pool
from wit_builder.synthetic.photos import photo_like
from wit_builder.synthetic.seeding import numpy_rng


def encoded_pictures(count: int, size: int, seed: int, quality: int = 95) -> list[bytes]:
    rng = numpy_rng(seed, "sample-pool-images")
    pictures = []
    for _ in range(count):
        buffer = io.BytesIO()
        photo_like(rng, size).save(buffer, "JPEG", quality=quality)
        pictures.append(buffer.getvalue())
    return pictures


def write_sample_pool(
    out_dir: str | Path,
    samples: int,
    queries: int = 1000,
    files: int = 4,
    seed: int = 0,
    image_size: int = 256,
    distinct: int = 64,
    captions: int = 1,
) -> Path:
    """A download-like folder (``samples/``, ``stats.json``) of ``samples`` rows in ``files`` files,
    in input order (files hold consecutive rows, as the download stage's chunks do). With
    ``captions`` > 1, every other sample has that many captions (harvest --max-captions): its
    text, then variants of it."""
    out = Path(out_dir)
    pairs = zipf_pool(samples, queries, seed)
    if captions > 1:
        texts = pairs.column("text").to_pylist()
        lists = [[text, *(f"{text} (caption {k + 1})" for k in range(1, captions))] if row % 2 == 0 else None
                 for row, text in enumerate(texts)]  # fmt: skip
        column = pa.array(lists, pa.list_(pa.string()))
        if "captions" in pairs.column_names:
            pairs = pairs.set_column(pairs.schema.get_field_index("captions"), "captions", column)
        else:
            pairs = pairs.append_column("captions", column)
    pictures = encoded_pictures(distinct, image_size, seed)
    digests = [hashlib.sha256(picture).hexdigest() for picture in pictures]
    picks = np.arange(samples) % distinct
    rng = numpy_rng(seed, "sample-pool-hashes")
    image_columns = {
        "image": pa.array([pictures[i] for i in picks], pa.binary()),
        "image_format": pa.array(["jpg"] * samples),
        "width": pa.array([image_size] * samples, pa.int32()),
        "height": pa.array([image_size] * samples, pa.int32()),
        "original_width": pa.array(rng.integers(300, 2000, samples), pa.int32()),
        "original_height": pa.array(rng.integers(300, 2000, samples), pa.int32()),
        "original_bytes": pa.array(rng.integers(20_000, 900_000, samples), pa.int64()),
        "sha256": pa.array([digests[i] for i in picks]),
        "phash": pa.array(rng.integers(-(2**63), 2**63 - 1, samples, dtype=np.int64), pa.int64()),
        "colour_grid": pa.array([bytes(48)] * samples, pa.binary()),
    }
    return write_download_folder(out, pairs, image_columns, files)


def write_download_folder(out: Path, pairs: pa.Table, image_columns: dict[str, pa.Array], files: int) -> Path:
    """``out/samples/part-NNNNN.parquet`` (pairs plus image columns, consecutive rows per file,
    as the download stage's chunks are) and a ``stats.json`` in which every pair is ``ok``."""
    (out / "samples").mkdir(parents=True, exist_ok=True)
    kept = load_schema("samples").names  # the pair columns a sample keeps (not page_opt_out)
    table = pairs.select([name for name in pairs.column_names if name in kept])
    for name, column in image_columns.items():
        table = table.append_column(name, column)
    if "faces_blurred" not in image_columns:  # no face boxes were given with these pairs
        table = table.append_column("faces_blurred", pa.array([0] * table.num_rows, pa.int32()))
    table = table.select([name for name in kept if name in table.column_names])  # the schema's order
    # Columns no pair fills (a language, several captions): samples without them, as the stages write them.
    empty = [c for c in SPARSE_COLUMNS if c in table.column_names and table.column(c).null_count == table.num_rows]
    table = table.drop_columns(empty)
    without = sparse_left_out(table.column_names)
    samples = table.num_rows
    bounds = np.linspace(0, samples, files + 1).astype(int)
    for index in range(files):
        part = table.slice(bounds[index], bounds[index + 1] - bounds[index])
        write_table(part, str(out / "samples" / f"part-{index:05d}.parquet"), "samples", without=without)
    stats = {"pairs_in": samples, "ok": samples, "statuses": {"ok": samples}, "adds_up": True}
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    return out
