"""Pass 1's last step: one chunk's work files, each written whole.

    work/fetched/CHUNK.parquet      the kept images (schema ``samples``)
    work/RECORDS/CHUNK.parquet      what a filter kept of its matches (``eval_matches``), if any
    work/outcomes/CHUNK.parquet     one status row per pair, written last: the chunk is done

A chunk whose outcomes file exists is complete, and a re-run with the same ``--out`` skips it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa

from wit_builder.download.outcomes import PairOutcome
from wit_builder.schemas import SPARSE_COLUMNS, parquet_writer, table_from_rows


def work_path(out_dir: str, kind: str, chunk_name: str) -> str:
    return f"{out_dir.rstrip('/')}/work/{kind}/{chunk_name}.parquet"


def without_language(pairs: Sequence[dict]) -> tuple[str, ...]:
    """The sparse columns no pair has (``schemas.SPARSE_COLUMNS``): ``lang`` for an English-only
    list, ``captions`` without harvest --max-captions; its files are written without them, as
    before they existed."""
    return tuple(column for column in SPARSE_COLUMNS if not any(pair.get(column) for pair in pairs))


def _write_whole(table: pa.Table, path: str, schema: str, without: tuple[str, ...] = ()) -> None:
    with parquet_writer(path, schema, without) as write:  # atomic: whole, or no file
        write(table.drop_columns(list(without)) if without else table)


def write_chunk(
    out_dir: str, chunk_name: str, outcomes: Sequence[PairOutcome], records: Mapping[str, list[dict]]
) -> None:
    """The chunk's kept images, the filters' records, then its status rows (the commit)."""
    samples = [outcome.sample_row() for outcome in outcomes if outcome.kept]
    without = without_language([outcome.pair for outcome in outcomes])
    _write_whole(table_from_rows(samples, "samples"), work_path(out_dir, "fetched", chunk_name), "samples", without)
    for kind, rows in sorted(records.items()):  # before the outcomes, which mark the chunk done
        _write_whole(table_from_rows(rows, kind), work_path(out_dir, kind, chunk_name), kind)
    rows = [outcome.status_row() for outcome in outcomes]
    _write_whole(table_from_rows(rows, "status"), work_path(out_dir, "outcomes", chunk_name), "status")
