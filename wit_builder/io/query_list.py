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
