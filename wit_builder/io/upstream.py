"""The one thing a stage reads from an earlier stage's folder besides its data files: the query
list the pairs were matched against.

Contract: the ``stats.json`` of a harvest or balance folder holds ``{"inputs": {"queries": P}}``,
where P is the query list's path or URL as the stage was given it (or null for none). Harvest
writes it; balance reads it when ``--queries`` is not given and writes the one it used under the
same key, so any later stage finds it the same way. ``query_list_named_by`` is the only reader,
and it says clearly when a ``stats.json`` does not keep the contract.
"""

from __future__ import annotations

import json

import fsspec


def query_list_record(queries: str | None) -> dict:
    """The part of a ``stats.json`` that names the query list (merged into its ``inputs``)."""
    return {"queries": queries}


def query_list_named_by(folder: str) -> str | None:
    """The query list named by ``folder/stats.json``; None when the folder has no stats.json.

    Raises ValueError, naming the file and what was expected, when it is not JSON or does not
    keep the contract."""
    path = f"{folder.rstrip('/')}/stats.json"
    filesystem, _ = fsspec.core.url_to_fs(path)
    if not filesystem.isfile(path):
        return None
    with fsspec.open(path, "rt", encoding="utf-8") as handle:
        try:
            stats = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not JSON ({error}); expected a stage's stats.json") from None
    inputs = stats.get("inputs") if isinstance(stats, dict) else None
    queries = inputs.get("queries", ...) if isinstance(inputs, dict) else ...
    if queries is not None and not isinstance(queries, str):
        raise ValueError(f"{path}: expected inputs.queries to name the query list (a path, or null), found {queries!r}")
    return queries
