"""Where the captions come from: a shard folder's Parquet indexes, or a balance folder.

Only the ``text`` column is read, batch by batch, so a data set of any size streams through
the BPE trainer without loading its images or holding its captions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import fsspec
import pyarrow.parquet as pq

from wit_builder.errors import StageFailed
from wit_builder.io.stage_folders import input_files
from wit_builder.tokenizer.clip_text import clean_caption


def caption_files(source: str) -> list[str]:
    """The Parquet files holding captions: a shard folder (its ``manifest.json`` names the
    indexes), a balance folder (``balanced/*.parquet``), or a path, glob or folder of Parquet
    files. A path that cannot be right (missing, empty, another stage's folder) is a
    ``UsageError`` naming it."""
    folder = source.rstrip("/")
    filesystem, _ = fsspec.core.url_to_fs(folder)
    if filesystem.isdir(folder) and filesystem.exists(f"{folder}/manifest.json"):
        try:
            with filesystem.open(f"{folder}/manifest.json", "rt", encoding="utf-8") as handle:
                shards = json.load(handle)["shards"]
            return [f"{folder}/{shard['index']}" for shard in shards]
        except (ValueError, KeyError, TypeError) as error:
            raise StageFailed(
                f"{folder}/manifest.json: not a shard manifest ({type(error).__name__}: {error})"
            ) from error
    if filesystem.isdir(f"{folder}/balanced"):
        return input_files("--input", [source], "balance", "balanced")
    return input_files("--input", [source], CAPTION_SOURCES, None)


CAPTION_SOURCES = "a shard folder (manifest.json), a balance folder (balanced/) or Parquet files with a 'text' column"


@dataclass
class CaptionTally:
    """How many captions were read, from how many files, and how many were empty once cleaned."""

    files: int = 0
    captions: int = 0
    empty: int = 0
    characters: int = 0
    unreadable: dict[str, str] = field(default_factory=dict)


def iter_clean_captions(files: list[str], tally: CaptionTally, batch_rows: int = 8192) -> Iterator[str]:
    """Every caption of ``files``, cleaned as CLIP cleans it; an unreadable file is recorded in
    the tally with its error and skipped."""
    for path in files:
        try:
            with fsspec.open(path, "rb") as handle:
                parquet = pq.ParquetFile(handle)
                if "text" not in parquet.schema_arrow.names:
                    raise ValueError("it has no 'text' column")
                for batch in parquet.iter_batches(batch_size=batch_rows, columns=["text"]):
                    for text in batch.column(0).to_pylist():
                        cleaned = clean_caption(text or "")
                        tally.captions += 1
                        if not cleaned:
                            tally.empty += 1
                            continue
                        tally.characters += len(cleaned)
                        yield cleaned
        except Exception as error:
            tally.unreadable[path] = f"{type(error).__name__}: {error}"
            continue
        tally.files += 1
