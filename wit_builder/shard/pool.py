"""A pool-mode shard set's draw (``shard --pool``): which queries are capped, from the set's own
balance report, and how many samples each shard is expected to keep per epoch.

The pool is written without the cap; ``wit-train --online-balance`` draws from it each epoch
(``capping.online``). The manifest carries what the draw needs, so the trainer reads nothing
but the manifest beside the tars: the capped queries (matched more than their language's t)
with their matched counts and keep probabilities, and the expected samples per shard, which
the trainer's schedule counts an epoch by.
"""

from __future__ import annotations

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from wit_builder.capping.languages import SEPARATOR, match_keys
from wit_builder.capping.online import OnlineBalance
from wit_builder.schemas import damage_named


def capped_queries(report: pa.Table) -> list[tuple[str, int, float]]:
    """(key, matched, keep probability) of every query whose probability is below 1, by key
    (``languages.row_keys``' form: ``lang\\tquery`` in a worldwide set, the query otherwise)."""
    rows = report.filter(pc.less(report.column("p_keep"), 1.0))
    langs = rows.column("lang").to_pylist() if "lang" in rows.column_names else [None] * rows.num_rows
    keys = [
        f"{lang}{SEPARATOR}{query}" if lang else query
        for query, lang in zip(rows.column("query").to_pylist(), langs, strict=True)
    ]
    found = zip(keys, rows.column("matched").to_pylist(), rows.column("p_keep").to_pylist(), strict=True)
    return sorted((key, int(matched), float(p)) for key, matched, p in found)


def row_chances(table: pa.Table, balance: OnlineBalance) -> np.ndarray:
    """Each row's chance to be kept in an epoch (``online.expected_keep``), vectorised over a
    table with ``matches`` (and ``lang``): 1 when a match is not capped, else ``1 − ∏(1 − p)``;
    0 for a row with no match."""
    keys = match_keys(table)  # the keys the draw knows the queries by
    rows = len(keys)
    flat = pc.list_flatten(keys)
    parents = pc.list_parent_indices(keys).to_numpy(zero_copy_only=False)
    names = pa.array(sorted(balance.capped), pa.string())
    probability = np.array([balance.capped[name] for name in names.to_pylist()], np.float64)
    index = pc.index_in(flat, value_set=names).to_numpy(zero_copy_only=False)
    capped = ~np.isnan(index)
    p = np.ones(len(flat))
    p[capped] = probability[index[capped].astype(np.int64)]
    with np.errstate(divide="ignore"):
        log_missed = np.log1p(-p)  # -inf where p is 1: the row is kept for sure
    missed = np.exp(np.bincount(parents, weights=log_missed, minlength=rows))
    has_match = np.bincount(parents, minlength=rows) > 0
    return np.where(has_match, 1.0 - missed, 0.0)


def expected_per_shard(folder: str, shards: list[dict], balance: OnlineBalance) -> dict[str, float]:
    """Samples each shard is expected to keep per epoch, from its index's matches and languages."""
    expected = {}
    for shard in shards:
        path = f"{folder}/{shard['index']}"
        filesystem, _ = fsspec.core.url_to_fs(path)
        with filesystem.open(path, "rb") as handle, damage_named(path):
            present = pq.read_schema(handle).names
            handle.seek(0)
            table = pq.read_table(handle, columns=[c for c in ("matches", "lang") if c in present])
        expected[shard["name"]] = float(row_chances(table, balance).sum())
    return expected
