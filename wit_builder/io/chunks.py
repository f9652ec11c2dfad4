"""Cut Parquet files into row ranges: the units of work (and of resumption) of the stages that
read large files, so one big file still spreads over many workers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from wit_builder.errors import StageFailed
from wit_builder.schemas import check_schema, load_schema, read_batches


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


# What reading a file a stage was given can raise: not Parquet, truncated, unreachable, or
# another schema (SchemaMismatch is a ValueError).
READ_ERRORS = (OSError, ValueError, pa.ArrowException)


def parquet_rows(path: str, schema: str | None = None) -> int:
    """Rows of a Parquet file, from its footer (nothing else is read), after checking its
    columns against ``schema`` when one is named."""
    with fsspec.open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        if schema is not None:
            check_schema(parquet.schema_arrow, schema, path)
        return parquet.metadata.num_rows


def readable_files(paths: list[str], schema: str) -> tuple[list[str], list[int], list[tuple[str, str]]]:
    """The files whose footer reads and whose columns are ``schema``'s, their row counts, and
    (path, error) for each of the others."""
    files, rows, unreadable = [], [], []
    for path in paths:
        try:
            rows.append(parquet_rows(path, schema))
        except READ_ERRORS as error:
            unreadable.append((path, f"{type(error).__name__}: {error}"))
            continue
        files.append(path)
    return files, rows, unreadable


def require_readable(paths: list[str], schema: str, what: str) -> tuple[list[str], list[int], list[tuple[str, str]]]:
    """``readable_files``, failing the stage (``StageFailed``) when none of ``paths`` is readable:
    the message names the files, why each failed, and the columns that were expected."""
    files, rows, unreadable = readable_files(paths, schema)
    if not files:
        raise StageFailed(none_readable(unreadable, what, schema))
    return files, rows, unreadable


def none_readable(unreadable: list[tuple[str, str]], what: str, schema: str | None = None) -> str:
    """One line: none of these files could be read as ``what``, the first few named with why."""
    columns = f" (columns {', '.join(load_schema(schema).names)})" if schema else ""
    named = "; ".join(f"{path}: {error.splitlines()[0] if error else ''}" for path, error in unreadable[:3])
    more = f"; and {len(unreadable) - 3} more" if len(unreadable) > 3 else ""
    return f"none of the {len(unreadable)} file(s) could be read as {what}{columns}: {named}{more}"


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
