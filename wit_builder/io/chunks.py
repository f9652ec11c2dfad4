"""Cut Parquet files into row ranges: the units of work (and of resumption) of the stages that
read large files, so one big file still spreads over many workers."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from wit_builder.errors import StageFailed
from wit_builder.schemas import SchemaMismatch, check_schema, load_schema, read_batches


@dataclass(frozen=True)
class InputFile:
    """A readable Parquet input: its path, its rows, and what it holds (``identity``: a digest
    of its footer, which records every row group's byte offsets and sizes and, as written by
    pyarrow and Spark, each column's minimum, maximum and null count). Two files with one
    identity hold the same rows, wherever they lie and however their path is spelled."""

    path: str
    rows: int
    identity: str


@dataclass(frozen=True)
class Chunk:
    """Rows [first_row, first_row + rows) of the input file at ``path``.

    Its ``name`` says what it holds, not where it stands in a list: the input file's name, the
    part, and a digest of the file's identity, the row range and the ``salt`` (the settings
    that decide what is made of the rows). Work files named by it are reused by a re-run only
    for the same rows under the same settings, whatever other files come and go."""

    path: str
    part: int
    first_row: int
    rows: int
    identity: str = ""
    salt: str = ""

    @property
    def name(self) -> str:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", self.path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".parquet"))
        digest = hashlib.sha256(f"{self.identity}|{self.first_row}|{self.rows}|{self.salt}".encode()).hexdigest()
        return f"{stem[:60]}-{self.part:04d}-{digest[:12]}"


# What reading a file a stage was given can raise: not Parquet, truncated, unreachable, or
# another schema (SchemaMismatch is a ValueError).
READ_ERRORS = (OSError, ValueError, pa.ArrowException)


def read_footer(path: str, schema: str | None = None) -> InputFile:
    """A Parquet file as an ``InputFile``, from its footer alone, after checking its columns
    against ``schema`` when one is named, and that no column the schema keeps free of nulls
    holds one (by the footer's statistics; a file without them is checked as it is read)."""
    with fsspec.open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        metadata = parquet.metadata
        if schema is not None:
            check_schema(parquet.schema_arrow, schema, path)
            _check_no_nulls(metadata, schema, path)
        footer = io.BytesIO()
        metadata.write_metadata_file(footer)
        return InputFile(path, metadata.num_rows, hashlib.sha256(footer.getvalue()).hexdigest()[:32])


def _check_no_nulls(metadata: pq.FileMetaData, schema: str, path: str) -> None:
    required = {field.name for field in load_schema(schema) if not field.nullable}
    columns = {metadata.schema.column(i).path: i for i in range(metadata.num_columns)}
    for name in sorted(required & set(columns)):
        nulls = 0
        for group in range(metadata.num_row_groups):
            statistics = metadata.row_group(group).column(columns[name]).statistics
            if statistics is not None and statistics.has_null_count:
                nulls += statistics.null_count
        if nulls:
            raise SchemaMismatch(f"{path}: column {name!r} holds {nulls} null(s); the {schema} schema allows none")


def parquet_columns(path: str) -> list[str]:
    """The column names of a Parquet file, from its footer (any fsspec URL)."""
    with fsspec.open(path, "rb") as handle:
        return pq.ParquetFile(handle).schema_arrow.names


def parquet_rows(path: str, schema: str | None = None) -> int:
    """Rows of a Parquet file, from its footer (``read_footer``)."""
    return read_footer(path, schema).rows


def readable_files(paths: list[str], schema: str) -> tuple[list[InputFile], list[tuple[str, str]]]:
    """The files whose footer reads and whose columns are ``schema``'s, and (path, error) for
    each of the others. A file holding the same rows as one before it (the same identity) is
    left out as unreadable too, with the file it repeats: its pairs would be counted twice."""
    files: list[InputFile] = []
    unreadable: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            found = read_footer(path, schema)
        except READ_ERRORS as error:
            unreadable.append((path, f"{type(error).__name__}: {error}"))
            continue
        if found.rows and found.identity in seen:
            unreadable.append((path, f"DuplicateInput: holds the same rows as {seen[found.identity]}"))
            continue
        seen[found.identity] = path
        files.append(found)
    return files, unreadable


def require_readable(paths: list[str], schema: str, what: str) -> tuple[list[InputFile], list[tuple[str, str]]]:
    """``readable_files``, failing the stage (``StageFailed``) when none of ``paths`` is readable:
    the message names the files, why each failed, and the columns that were expected."""
    files, unreadable = readable_files(paths, schema)
    if not files:
        raise StageFailed(none_readable(unreadable, what, schema))
    return files, unreadable


def none_readable(unreadable: list[tuple[str, str]], what: str, schema: str | None = None) -> str:
    """One line: none of these files could be read as ``what``, the first few named with why."""
    columns = f" (columns {', '.join(load_schema(schema).names)})" if schema else ""
    named = "; ".join(f"{path}: {error.splitlines()[0] if error else ''}" for path, error in unreadable[:3])
    more = f"; and {len(unreadable) - 3} more" if len(unreadable) > 3 else ""
    return f"none of the {len(unreadable)} file(s) could be read as {what}{columns}: {named}{more}"


def plan_chunks(files: Sequence[InputFile | str], chunk_rows: int, salt: str = "") -> list[Chunk]:
    """Each file cut into chunks of ``chunk_rows`` rows (a path is read as ``read_footer`` reads
    it); ``salt`` enters every chunk's name."""
    chunks = []
    for given in files:
        found = read_footer(given) if isinstance(given, str) else given
        for part, first in enumerate(range(0, found.rows, chunk_rows)):
            rows = min(chunk_rows, found.rows - first)
            chunks.append(Chunk(found.path, part, first, rows, found.identity, salt))
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
