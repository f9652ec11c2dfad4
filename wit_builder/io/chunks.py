"""Cut Parquet files into row ranges: the units of work (and of resumption) of the stages that
read large files, so one big file still spreads over many workers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from wit_builder.schemas import read_batches


@dataclass(frozen=True)
class Chunk:
    """Rows [first_row, first_row + rows) of the file_index-th input file."""

    file_index: int
    path: str
    part: int
    first_row: int
    rows: int

    @property
    def name(self) -> str:
        return f"part-{self.file_index:05d}-{self.part:04d}"


def parquet_rows(path: str) -> int:
    """Rows of a Parquet file, from its footer (nothing else is read)."""
    with fsspec.open(path, "rb") as handle:
        return pq.ParquetFile(handle).metadata.num_rows


def plan_chunks(files: list[str], chunk_rows: int, rows: list[int] | None = None) -> list[Chunk]:
    """Each file cut into chunks of ``chunk_rows`` rows (row counts from the footers unless given)."""
    chunks = []
    for index, path in enumerate(files):
        file_rows = parquet_rows(path) if rows is None else rows[index]
        for part, first in enumerate(range(0, file_rows, chunk_rows)):
            chunks.append(Chunk(index, path, part, first, min(chunk_rows, file_rows - first)))
    return chunks


def read_chunk_tables(
    chunk: Chunk, schema: str, columns: list[str] | None = None, batch_rows: int = 65_536
) -> Iterator[pa.Table]:
    """The chunk's rows as tables of at most ``batch_rows`` rows, checked against ``schema``;
    the file is read batch by batch up to the chunk's end."""
    offset = 0
    end = chunk.first_row + chunk.rows
    for table in read_batches(chunk.path, schema, columns, batch_rows):
        start, stop = max(chunk.first_row - offset, 0), min(end - offset, table.num_rows)
        if start < stop:
            yield table.slice(start, stop - start)
        offset += table.num_rows
        if offset >= end:
            break
