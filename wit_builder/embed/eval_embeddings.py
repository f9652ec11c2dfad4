"""The evaluation sets' images, embedded with the stage's model, for the curate stage's
``eval_embedding`` filter: a sample whose image embedding is within cosine τ of an evaluation
image is a copy that changed more than PDQ can see (a re-shoot, a restyle, a heavy crop).

Each set is an image folder or WebDataset shards, as the download stage's ``--eval-sets`` take
them (``download.eval_sets.pictures``); a Parquet of PDQ hashes has no pixels to embed and is
refused. Written to ``OUT/eval_embeddings/NAME.parquet`` before any sample is embedded, so a
set in the wrong format stops the stage with nothing written.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from wit_builder.embed.arrays import half_lists
from wit_builder.embed.models import Embedder
from wit_builder.errors import UsageError
from wit_builder.schemas import load_schema, write_table


def eval_embeddings_path(out_dir: str, name: str) -> str:
    return f"{out_dir.rstrip('/')}/eval_embeddings/{name}.parquet"


def _embed_pictures(found, embedder: Embedder, batch_size: int) -> tuple[list[str], list[np.ndarray], list[str]]:
    """(ids, embedding batches, unreadable pictures) of (id, bytes) pictures, in batches."""
    import torch

    ids: list[str] = []
    rows: list[np.ndarray] = []
    unreadable: list[str] = []
    pending: list[tuple[str, torch.Tensor]] = []
    for picture_id, data in found:
        try:
            pending.append((picture_id, embedder.pixels(data)))
        except Exception as error:  # an unreadable picture is listed, never fatal
            unreadable.append(f"{picture_id}: {type(error).__name__}: {error}"[:200])
        if len(pending) >= batch_size:
            _flush(pending, embedder, ids, rows)
    _flush(pending, embedder, ids, rows)
    return ids, rows, unreadable


def _flush(pending: list, embedder: Embedder, ids: list[str], rows: list[np.ndarray]) -> None:
    import torch

    if pending:
        image, _ = embedder.embed(torch.stack([pixels for _, pixels in pending]), [""] * len(pending))
        ids.extend(picture_id for picture_id, _ in pending)
        rows.append(image)
        pending.clear()


def embed_eval_sets(specs: Sequence[str], embedder: Embedder, out_dir: str, batch_size: int) -> dict[str, dict]:
    """Embed every set; per set, its images and those that could not be read."""
    from wit_builder.download.eval_sets import EvalSet, pictures

    summary: dict[str, dict] = {}
    sets = [EvalSet.parse(text) for text in specs]
    names = [s.name for s in sets]
    if len(set(names)) != len(names):
        raise UsageError(f"--eval-sets: two sets are named {sorted(n for n in names if names.count(n) > 1)[0]!r}")
    for eval_set in sets:
        if eval_set.path.endswith(".parquet"):
            raise UsageError(
                f"--eval-sets {eval_set.name}={eval_set.path}: a Parquet of hashes has no pixels to embed; "
                "give the set's images (a folder or WebDataset shards)"
            )
        ids, rows, unreadable = _embed_pictures(pictures(eval_set.path), embedder, batch_size)
        if not ids:
            raise UsageError(
                f"--eval-sets {eval_set.name}={eval_set.path}: no readable image in it"
                + (f" ({len(unreadable)} unreadable, first: {unreadable[0]})" if unreadable else "")
            )
        embeddings = np.concatenate(rows)
        table = pa.table({"id": pa.array(ids, pa.string()), "image_emb": half_lists(embeddings)})
        target = eval_embeddings_path(out_dir, eval_set.name)
        write_table(table.cast(load_schema("eval_embeddings")), target, "eval_embeddings")
        summary[eval_set.name] = {"path": eval_set.path, "images": len(ids), "unreadable": unreadable[:20]}
    return summary
