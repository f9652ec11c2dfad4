"""JSON files the stages write for people and for later stages (``stats.json``, manifests),
and read back: a damaged one (cut short by a kill, overwritten by hand) is named in the error."""

from __future__ import annotations

import json
from typing import Any

import fsspec


def write_json(
    path: str, document: Any, *, ensure_ascii: bool = True, indent: int | None = 2, schema: str | None = None
) -> None:
    """``document`` indented for people (``indent=None``: one line, for files only programs
    read), with a final newline, written whole (``atomic``): a reader sees the old file or the
    new one. The one way JSON is written. With ``schema`` (``stats.harvest``, ``manifest``...)
    the document is checked against it first, as every reader checks it: a document of the
    wrong shape is a ``ValueError`` naming the file, and nothing is written."""
    from wit_builder.atomic import atomic_output

    if schema is not None:
        from wit_builder.schemas import document_problem

        if problem := document_problem(document, schema):
            raise ValueError(f"{path}: not written, it would not fit its schema: {problem}")

    with atomic_output(path, "wt") as handle:
        json.dump(document, handle, indent=indent, ensure_ascii=ensure_ascii)
        handle.write("\n")


def read_json_lines(path: str) -> list[Any]:
    """Every document of a JSON Lines file, in order; none when the file does not exist. A line
    that is not JSON (cut by a kill while appended) is skipped."""
    filesystem, _ = fsspec.core.url_to_fs(path)
    if not filesystem.exists(path):
        return []
    documents = []
    with fsspec.open(path, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                documents.append(json.loads(line))
            except ValueError:
                continue
    return documents


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def read_json(path: str, schema: str | None = None) -> Any:
    """The JSON document at ``path``, checked against the document schema ``schema`` when one
    is named (``schemas.document_problem``: ``stats.harvest``, ``manifest``...). A file that is
    not UTF-8 JSON (NaN and Infinity included: Python writes them, JSON has none), or not of
    its schema's shape, is ``DamagedFile`` naming the file and what is wrong."""
    from wit_builder.errors import DamagedFile

    with fsspec.open(path, "rt", encoding="utf-8") as handle:
        try:
            document = json.load(handle, parse_constant=_no_constant)
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, NaN
            raise DamagedFile(f"{path}: not JSON ({type(error).__name__}: {error}); was it cut short?") from None
    if schema is not None:
        from wit_builder.schemas import document_problem

        if problem := document_problem(document, schema):
            raise DamagedFile(f"{path}: {problem}")
    return document


def read_json_if_present(path: str, schema: str | None = None) -> Any | None:
    """``read_json``, or None when there is no file at ``path``."""
    filesystem, _ = fsspec.core.url_to_fs(path)
    return read_json(path, schema) if filesystem.isfile(path) else None


def read_work_json(path: str) -> Any | None:
    """A work file's JSON (a resumable unit's record), or None when it is damaged: the unit is
    then redone, as if the file were not there."""
    try:
        return read_json(path)
    except ValueError:
        return None
