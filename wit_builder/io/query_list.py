"""Read the query list the queries stage writes, wherever a later stage is pointed at it.

Accepted: the queries stage's folder, its ``queries.parquet`` (query, source, score), or a
``.txt`` file with one query per line (a hand-made or published list, which has no sources).
"""

from __future__ import annotations

import fsspec
import pyarrow.parquet as pq


def _resolve(path: str) -> str:
    path = path.rstrip("/")
    filesystem, _ = fsspec.core.url_to_fs(path)
    return f"{path}/queries.parquet" if filesystem.isdir(path) else path


def load_query_sources(path: str) -> list[tuple[str, str | None]]:
    """(query, source) in list order; the source is None for a ``.txt`` list."""
    path = _resolve(path)
    if path.endswith(".txt"):
        with fsspec.open(path, "rt", encoding="utf-8") as handle:
            return [(line.rstrip("\n"), None) for line in handle if line.strip()]
    with fsspec.open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        columns = ["query", "source"] if "source" in parquet.schema_arrow.names else ["query"]
        table = parquet.read(columns=columns)
    queries = table.column("query").to_pylist()
    sources = table.column("source").to_pylist() if "source" in columns else [None] * len(queries)
    return list(zip(queries, sources, strict=True))


def load_queries(path: str) -> list[str]:
    """The queries alone, in list order."""
    return [query for query, _ in load_query_sources(path)]


def load_query_rows(path: str) -> list[tuple[str, str | None, str | None]]:
    """(query, source, lang) in list order; lang is None for a list without a ``lang`` column."""
    path = _resolve(path)
    if path.endswith(".txt"):
        return [(query, source, None) for query, source in load_query_sources(path)]
    with fsspec.open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        columns = [c for c in ("query", "source", "lang") if c in parquet.schema_arrow.names]
        table = parquet.read(columns=columns)
    n = table.num_rows
    column = {c: table.column(c).to_pylist() if c in columns else [None] * n for c in ("query", "source", "lang")}
    return list(zip(column["query"], column["source"], column["lang"], strict=True))


def load_queries_by_language(path: str) -> dict[str, list[str]]:
    """Each language's queries, in list order; a list without a ``lang`` column (English-only
    lists, ``.txt`` lists) is all English (``en``)."""
    path = _resolve(path)
    if path.endswith(".txt"):
        return {"en": load_queries(path)}
    with fsspec.open(path, "rb") as handle:
        parquet = pq.ParquetFile(handle)
        columns = ["query", "lang"] if "lang" in parquet.schema_arrow.names else ["query"]
        table = parquet.read(columns=columns)
    queries = table.column("query").to_pylist()
    languages = table.column("lang").to_pylist() if "lang" in columns else ["en"] * len(queries)
    by_language: dict[str, list[str]] = {}
    for query, lang in zip(queries, languages, strict=True):
        by_language.setdefault(lang or "en", []).append(query)
    return by_language


def check_query_list(flag: str, path: str, read: bool = True) -> int:
    """How many queries the list at ``path`` holds, read once before a stage starts so a wrong
    path is one line: missing, empty or another stage's folder is a ``UsageError``; a file that
    is no query list, or holds none, is ``StageFailed``. ``read=False`` checks the path only
    (and returns 0), for a stage to check its ``--out`` before reading anything."""
    from wit_builder.errors import StageFailed, UsageError
    from wit_builder.io.chunks import READ_ERRORS
    from wit_builder.io.stage_folders import holds_other_stage

    wanted = "the queries stage's folder, its queries.parquet (a 'query' column) or a .txt of one query a line"
    root = path.rstrip("/")
    filesystem, _ = fsspec.core.url_to_fs(root)
    if not filesystem.exists(root):
        raise UsageError(f"{flag} {path}: no such file or folder; {flag} wants {wanted}")
    if filesystem.isdir(root) and not filesystem.exists(f"{root}/queries.parquet"):
        if held := holds_other_stage(root):
            raise UsageError(f"{flag} {path} {held}; {flag} wants {wanted}")
        raise UsageError(f"{flag} {path}: holds no queries.parquet; {flag} wants {wanted}")
    if not read:
        return 0
    try:
        count = len(load_query_sources(root))
    except (*READ_ERRORS, KeyError) as error:
        raise StageFailed(
            f"{_resolve(root)}: not a query list ({type(error).__name__}: {error}); {flag} wants {wanted}"
        ) from error
    if not count:
        raise StageFailed(f"{_resolve(root)}: holds no query")
    return count
