"""The Arrow schemas of the files between stages, and the checks every reader and writer runs.

The schemas live as JSON in the top-level ``schemas/`` folder (installed as the package
``wit_builder.schema_files``), readable by people and by tools in other languages. Each field
has a name, a type (``string``, ``int64``, ``float64``, ``binary``, ``list<string>``, ...), a
nullability and a description; the descriptions travel into the Parquet files as field
metadata, so an auditor opening a file sees what each column means.

Writers are strict: exactly the schema's columns, in order, with its types, and no nulls in a
non-nullable column. Readers accept files from other tools: every schema column must be there
with a compatible type (``large_string`` for ``string`` and so on); extra columns are ignored.
A mismatch raises ``SchemaMismatch`` naming the file, the column, what was expected and what
was found.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib.resources import files

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from wit_builder.atomic import atomic_output

SCHEMA_PACKAGE = "wit_builder.schema_files"
# JSON Schemas (draft 2020-12) of the JSON documents between stages: each stage's stats.json,
# the shard manifest, sizes.json, the evaluation results.
DOCUMENT_PACKAGE = "wit_builder.schema_files.documents"


class SchemaMismatch(ValueError):
    """A file between stages does not have the columns its schema says it must."""


def _parse_type(text: str) -> pa.DataType:
    text = text.strip()
    if text.startswith("list<") and text.endswith(">"):
        return pa.list_(_parse_type(text[5:-1]))
    try:
        return pa.type_for_alias(text)
    except ValueError as error:
        raise ValueError(f"unknown type {text!r} in a schema file") from error


@cache
def _schema_document(name: str) -> dict:
    resource = files(SCHEMA_PACKAGE) / f"{name}.json"
    if not resource.is_file():
        raise KeyError(f"no schema named {name!r}; known: {', '.join(schema_names())}")
    document = json.loads(resource.read_text())
    if "same_as" in document:
        return {**_schema_document(document["same_as"]), **{k: v for k, v in document.items() if k != "same_as"}}
    return document


@cache
def optional_columns(name: str) -> frozenset[str]:
    """Columns schema ``name`` marks ``optional``: added by a later version, so a reader takes a
    file without one (from an earlier version or another tool) as holding nulls there."""
    return frozenset(f["name"] for f in _schema_document(name)["fields"] if f.get("optional"))


def _with_optional(table: pa.Table, name: str, wanted: list[str]) -> pa.Table:
    """``table`` with the optional columns of ``wanted`` it lacks added as nulls."""
    schema = load_schema(name)
    for column in wanted:
        if column not in table.column_names and column in optional_columns(name):
            table = table.append_column(schema.field(column), pa.nulls(table.num_rows, schema.field(column).type))
    return table


def schema_names() -> list[str]:
    """Every schema in ``schemas/``."""
    return sorted(p.name[: -len(".json")] for p in files(SCHEMA_PACKAGE).iterdir() if p.name.endswith(".json"))


@cache
def load_schema(name: str) -> pa.Schema:
    """The Arrow schema called ``name`` (``queries``, ``candidates``, ``status``, ...)."""
    document = _schema_document(name)
    fields = [
        pa.field(
            f["name"],
            _parse_type(f["type"]),
            nullable=bool(f.get("nullable", True)),
            metadata={"description": f.get("description", "")},
        )
        for f in document["fields"]
    ]
    return pa.schema(fields, metadata={"wit_builder.schema": name, "description": document.get("description", "")})


_EQUIVALENT = {
    pa.large_string(): pa.string(),
    pa.large_binary(): pa.binary(),
}


def _normalised(data_type: pa.DataType) -> pa.DataType:
    """Collapse the large/small variants readers should accept as the same column."""
    if pa.types.is_large_list(data_type) or pa.types.is_list(data_type):
        return pa.list_(_normalised(data_type.value_type))
    if pa.types.is_dictionary(data_type):
        return _normalised(data_type.value_type)
    return _EQUIVALENT.get(data_type, data_type)


def check_schema(actual: pa.Schema, name: str, where: str, strict: bool = False, without: tuple[str, ...] = ()) -> None:
    """Raise ``SchemaMismatch`` unless ``actual`` fits schema ``name``.

    ``strict`` (writers): the same columns in the same order with identical types. Otherwise
    (readers): every expected column present with a compatible type. Nullability is checked
    on the data (``validate_table``), since in-memory Arrow tables mark every column nullable.
    """
    expected = _schema_without(name, without)
    for field in expected:
        index = actual.get_field_index(field.name)
        if index < 0 and not strict and field.name in optional_columns(name):
            continue
        if index < 0:
            present = ", ".join(actual.names) or "none"
            raise SchemaMismatch(
                f"{where}: column {field.name!r} is missing; the {name} schema expects it as {field.type} "
                f"(columns present: {present})"
            )
        found = actual.field(index)
        types_fit = found.type == field.type if strict else _normalised(found.type) == _normalised(field.type)
        if not types_fit:
            raise SchemaMismatch(
                f"{where}: column {field.name!r} has type {found.type}; the {name} schema expects {field.type}"
            )
    if strict and actual.names != expected.names:
        raise SchemaMismatch(f"{where}: columns are {actual.names}; the {name} schema expects exactly {expected.names}")


def _schema_without(name: str, without: tuple[str, ...]) -> pa.Schema:
    """Schema ``name`` less the optional columns ``without`` (a writer leaving them out)."""
    schema = load_schema(name)
    if not without:
        return schema
    not_optional = set(without) - optional_columns(name)
    if not_optional:
        raise SchemaMismatch(f"the {name} schema's columns {sorted(not_optional)} are not optional: write them")
    return pa.schema([field for field in schema if field.name not in without], metadata=schema.metadata)


def validate_table(table: pa.Table, name: str, where: str, without: tuple[str, ...] = ()) -> None:
    """What a writer checks before writing: the strict schema (less the optional columns
    ``without``), and no nulls where none may be."""
    check_schema(table.schema, name, where, strict=True, without=without)
    for field in _schema_without(name, without):
        if not field.nullable and table.column(field.name).null_count:
            raise SchemaMismatch(
                f"{where}: column {field.name!r} holds {table.column(field.name).null_count} null(s); "
                f"the {name} schema does not allow nulls there"
            )


def conform(table: pa.Table, name: str, where: str) -> pa.Table:
    """A table read from another tool, cut and cast to schema ``name`` (after ``check_schema``)."""
    check_schema(table.schema, name, where)
    schema = load_schema(name)
    return _with_optional(table, name, schema.names).select(schema.names).cast(schema)


def read_table(path: str, name: str) -> pa.Table:
    """Read one Parquet file (any fsspec URL), checked against schema ``name`` and cast to it; a
    file that is not Parquet, or is damaged, is ``DamagedFile`` naming it."""
    with fsspec.open(path, "rb") as handle, damage_named(path):
        parquet = pq.ParquetFile(handle)
        check_schema(parquet.schema_arrow, name, path)
        present = set(parquet.schema_arrow.names)
        table = parquet.read(columns=[c for c in load_schema(name).names if c in present])
    return conform(table, name, path)


@contextmanager
def damage_named(path: str) -> Iterator[None]:
    """Within the block, Arrow's error on a damaged or foreign Parquet file (which names no
    file) becomes ``DamagedFile`` naming ``path``."""
    from wit_builder.errors import DamagedFile

    try:
        yield
    except pa.ArrowException as error:
        raise DamagedFile(f"{path}: not a readable Parquet file ({type(error).__name__}: {error})") from None


def _completed(table: pa.Table, name: str, without: tuple[str, ...]) -> pa.Table:
    """``table`` with the optional columns it lacks (and ``without`` does not leave out) added as
    nulls, in the schema's order: a writer from before a column existed (another tool, a user's
    own pipeline) still writes a file of the schema."""
    wanted = [column for column in load_schema(name).names if column not in without]
    missing = [c for c in wanted if c not in table.column_names and c in optional_columns(name)]
    if not missing:
        return table
    table = _with_optional(table, name, missing)
    return table.select(wanted) if all(c in table.column_names for c in wanted) else table


@cache
def stored_as_is(name: str) -> frozenset[str]:
    """Columns schema ``name`` marks ``"stored": "as_is"``: whole media files (a JPEG, a PNG),
    already compressed, unique per row. Parquet's defaults would try a dictionary of them,
    compress them again and keep min/max statistics of them, which costs as much as the rest of
    the file and saves nothing; such a column is written plain, uncompressed, without statistics."""
    return frozenset(f["name"] for f in _schema_document(name)["fields"] if f.get("stored") == "as_is")


def writer_options(schema: pa.Schema) -> dict:
    """``pyarrow.parquet`` writer options for a table of ``schema`` (named in its metadata):
    the defaults (dictionary, Snappy, statistics) except for the columns stored as they are."""
    name = (schema.metadata or {}).get(b"wit_builder.schema", b"").decode()
    as_is = stored_as_is(name) if name else frozenset()
    if not as_is:
        return {}
    rest = [column for column in schema.names if column not in as_is]
    return {
        "use_dictionary": rest,
        "write_statistics": rest,
        "compression": {column: "none" if column in as_is else "snappy" for column in schema.names},
    }


def write_table(table: pa.Table, path: str, name: str, without: tuple[str, ...] = ()) -> None:
    """Write one Parquet file (any fsspec URL) after validating it against schema ``name``;
    ``without`` names optional columns left out on purpose (readers take them as null); other
    optional columns the table lacks are written as nulls."""
    table = _completed(table, name, without)
    validate_table(table, name, path, without)
    table = table.cast(_schema_without(name, without))  # same types; attaches descriptions and nullability
    with atomic_output(path) as handle:
        pq.write_table(table, handle, **writer_options(table.schema))


# Optional columns written only when they say something: a worldwide list's ``lang``, and the
# ``captions`` of harvest --max-captions. Without them, files are the bytes written before they existed.
SPARSE_COLUMNS = ("lang", "captions")


def sparse_left_out(columns: Iterable[str]) -> tuple[str, ...]:
    """The sparse columns a file (by its ``columns``) was written without: its successor is too."""
    present = set(columns)
    return tuple(column for column in SPARSE_COLUMNS if column not in present)


def write_table_omitting_nulls(
    table: pa.Table, path: str, name: str, optional: tuple[str, ...] = SPARSE_COLUMNS
) -> None:
    """``write_table``, leaving out the ``optional`` columns that hold nothing but nulls: an
    English-only run's ``lang``, so its files are the bytes written before the column existed."""
    empty = tuple(c for c in optional if c in table.column_names and table.column(c).null_count == table.num_rows)
    write_table(table.drop_columns(list(empty)) if empty else table, path, name, without=empty)


@contextmanager
def parquet_writer(path: str, name: str, without: tuple[str, ...] = ()) -> Iterator[Callable[[pa.Table], None]]:
    """Write one Parquet file piece by piece (memory bounded by a piece, not the file); each
    piece is validated as ``write_table`` validates a whole table (``without``: optional columns
    left out on purpose). No piece: a file of no rows."""
    schema = _schema_without(name, without)
    with atomic_output(path) as handle, pq.ParquetWriter(handle, schema, **writer_options(schema)) as writer:

        def write(table: pa.Table) -> None:
            table = _completed(table, name, without)
            validate_table(table, name, path, without)
            writer.write_table(table.cast(schema))

        yield write


def read_batches(
    path: str, name: str, columns: list[str] | None = None, batch_rows: int = 65_536
) -> Iterator[pa.Table]:
    """Read one Parquet file (any fsspec URL) in pieces of at most ``batch_rows`` rows, checked
    against schema ``name`` and cast to it (only ``columns`` when given)."""
    schema = load_schema(name)
    wanted = columns or schema.names
    with fsspec.open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        check_schema(parquet.schema_arrow, name, path)
        present = [c for c in wanted if c in set(parquet.schema_arrow.names)]
        target = pa.schema([schema.field(c) for c in wanted])
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=present):
            table = _with_optional(pa.Table.from_batches([batch]), name, wanted)
            yield table.select(wanted).cast(target)


def table_from_rows(rows: list[dict], name: str) -> pa.Table:
    """Build a table of schema ``name`` from row dicts (missing nullable keys become null)."""
    return pa.Table.from_pylist(rows, schema=load_schema(name))


def document_names() -> list[str]:
    """The JSON documents with a schema (``stats.harvest``, ``manifest``, ...)."""
    return sorted(
        entry.name.removesuffix(".json") for entry in files(DOCUMENT_PACKAGE).iterdir() if entry.name.endswith(".json")
    )


@cache
def _document_validator(name: str):
    from jsonschema import Draft202012Validator

    resource = files(DOCUMENT_PACKAGE) / f"{name}.json"
    if not resource.is_file():
        raise KeyError(f"no document schema named {name!r}; known: {', '.join(document_names())}")
    schema = json.loads(resource.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def document_problem(document: object, name: str) -> str | None:
    """What is wrong with a JSON document against the schema ``name``, in one line (where in
    the document, and what: ``kept: 'many' is not of type 'integer'``); None when nothing is."""
    from jsonschema.exceptions import best_match

    error = best_match(_document_validator(name).iter_errors(document))
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path) or "the document"
    message = error.message if len(error.message) <= 160 else error.message[:157] + "..."
    return f"{where}: {message}"
