"""Scatter: each unit of download output becomes one run file, its records sorted by placement key.

A unit is a slice of one samples file (``--chunk-rows`` rows). Its kept samples are encoded as
records (``records.py``) and written in placement-key order, so the records that belong to one
shard lie next to each other: a *segment*. What leaves the step is one small descriptor per
(unit, shard): where the segment is, and its records' keys and lengths. Image bytes never pass
through Beam's shuffle (the local runner holds a shuffle in memory); each shard writer reads its
segments straight from the run files.

A unit is also the unit of resumption: its run file is written under a temporary name and
renamed, then its descriptor file (segments and counts) likewise, so a unit whose descriptor
exists, made with the same fingerprint, is not read again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam import pvalue

from wit_builder.atomic import atomic_output
from wit_builder.capping.languages import malformed_rows, match_keys
from wit_builder.capping.sampling import keep_rows
from wit_builder.capping.transforms import ERRORS, CappedSideInput
from wit_builder.io.chunks import READ_ERRORS, Chunk, read_chunk_tables
from wit_builder.io.json_files import read_work_json, write_json
from wit_builder.shard.placement import placement_key, shard_for
from wit_builder.shard.records import IMAGE_FORMATS, META_FIELDS, SIZE_COLUMNS, encode_record, estimated_tar_bytes
from wit_builder.shard.settings import ShardPlan, ShardRules
from wit_builder.stage_stats import StatsDoFn


@dataclass(frozen=True)
class Segment:
    """The records of one run file that belong to one shard, contiguous in the file."""

    run: str  # the unit's name: orders segments the same way on every runner
    path: str
    offset: int
    keys: bytes  # the records' placement keys, uint64
    lengths: bytes  # the records' lengths in bytes, uint32

    @property
    def count(self) -> int:
        return len(self.keys) // 8


def run_paths(out_dir: str, chunk: Chunk) -> tuple[str, str]:
    """(run file, descriptor file) of a unit."""
    base = f"{out_dir.rstrip('/')}/work/runs/{chunk.name}"
    return f"{base}.run", f"{base}.json"


def capped_keep_mask(
    table: pa.Table, capped: CappedSideInput, over_cap: dict[str, int], thresholds: dict | None = None
) -> np.ndarray:
    """Which rows the final cap keeps: the balance stage's rule, per language where the samples
    carry one (``balance.languages``); rows without a match, which no query caps, and every row
    when there is no cap. A row whose matches hold a null (``malformed_rows``) is never kept."""
    bad = malformed_rows(table)
    if bad is not None:
        keep = np.zeros(table.num_rows, bool)
        keep[~bad] = capped_keep_mask(table.filter(pa.array(~bad)), capped, over_cap, thresholds)
        return keep
    if capped.rules.per_query is None or not over_cap:
        return np.ones(table.num_rows, bool)
    matches = table.column("matches")
    no_match = pc.equal(pc.list_value_length(matches), 0).to_numpy(zero_copy_only=False)
    return keep_rows(table.column("uid"), match_keys(table), capped.get(over_cap, thresholds)) | no_match


def binary_views(column: pa.ChunkedArray) -> list[memoryview | None]:
    """Each value of a binary column as a view into its Arrow buffer, None where null.

    The images of a batch reach the run file without a Python copy of each: ``to_pylist`` made
    a bytes object per image, a fifth of the scatter's time; the write is the one copy left.
    """
    views: list[memoryview | None] = []
    for chunk in column.chunks:
        _, offsets_buffer, data_buffer = chunk.buffers()
        offsets = np.frombuffer(offsets_buffer, np.int32, len(chunk) + 1, chunk.offset * 4).tolist()
        data = memoryview(data_buffer if data_buffer is not None else b"")
        valid = chunk.is_valid().to_numpy(zero_copy_only=False).tolist() if chunk.null_count else None
        views.extend(
            data[offsets[row] : offsets[row + 1]] if valid is None or valid[row] else None for row in range(len(chunk))
        )
    return views


class CountKeptFn(StatsDoFn):
    """Pass 2: (samples the cap keeps, their estimated tar bytes) of one unit, which decide the
    number of shards. Without a cap and without ``--shard-bytes`` nothing is read: the footer's
    row count is the answer; ``--shard-bytes`` reads the sizes of the unit's fields."""

    def __init__(self, settings: ShardRules):
        self.capped = CappedSideInput(settings.balance_rules)
        self.by_bytes = settings.shard_bytes is not None

    def process(self, chunk: Chunk, over_cap: dict[str, int], thresholds: dict) -> Iterator[tuple[int, float]]:
        capping = self.capped.rules.per_query is not None and bool(over_cap)
        kept, tar_bytes = chunk.rows, 0.0
        if capping or self.by_bytes:
            kept = 0
            columns = ["uid", *SIZE_COLUMNS, "lang"] if self.by_bytes else ["uid", "matches", "lang"]
            try:
                for table in read_chunk_tables(chunk, "samples", columns):
                    mask = capped_keep_mask(table, self.capped, over_cap, thresholds)
                    kept += int(mask.sum())
                    tar_bytes += estimated_tar_bytes(table.filter(pa.array(mask))) if self.by_bytes else 0.0
            except READ_ERRORS:
                kept, tar_bytes = 0, 0.0  # the scatter step records the error and counts the rows
        yield kept, tar_bytes


class ScatterFn(StatsDoFn):
    """Pass 3: a unit's kept samples as a run file sorted by placement key; emits (shard, Segment).

    Counts: ``samples_read`` (every row of the unit), ``capped``, and ``rejected:REASON`` for rows
    that cannot go into a tar (``missing_image``, ``bad_image_format``, ``malformed_matches``: a
    null among its matches, ``taken_down``: named in the set's ``takedowns.jsonl``, ``curated_out``:
    dropped by the curate stage) and for the rows of a unit that could not be read
    (``unreadable``, with the file and error on the errors output).
    """

    def __init__(
        self,
        settings: ShardRules,
        out_dir: str,
        taken_down: frozenset[str] = frozenset(),
        curated_out: frozenset[str] = frozenset(),
    ):
        self.settings = settings
        self.out_dir = out_dir
        self.capped = CappedSideInput(settings.balance_rules)
        self.taken_down = taken_down  # uids ``takedown`` removed from this set: never written again
        self.curated_out = curated_out  # uids the curate stage's rules dropped

    def process(self, chunk: Chunk, over_cap: dict[str, int], plan: ShardPlan, thresholds: dict) -> Iterator:
        run_path, descriptor_path = run_paths(self.out_dir, chunk)
        filesystem, _ = fsspec.core.url_to_fs(run_path)
        descriptor = self._finished(filesystem, run_path, descriptor_path, plan)
        if descriptor is None:
            try:
                descriptor = self._scatter(chunk, over_cap, plan, run_path, descriptor_path, filesystem, thresholds)
            except READ_ERRORS as error:
                self.count("samples_read", chunk.rows)
                self.count("rejected:unreadable", chunk.rows)
                yield pvalue.TaggedOutput(
                    ERRORS, (chunk.path, f"rows {chunk.first_row:,}+{chunk.rows:,}: {type(error).__name__}: {error}")
                )
                return
        else:
            self.count("units_resumed")
        for name, value in descriptor["counts"].items():
            self.count(name, value)
        for shard, segment in descriptor["segments"]:
            yield (
                shard,
                Segment(
                    **{**segment, "keys": bytes.fromhex(segment["keys"]), "lengths": bytes.fromhex(segment["lengths"])}
                ),
            )

    @staticmethod
    def _finished(filesystem, run_path: str, descriptor_path: str, plan: ShardPlan) -> dict | None:
        if not (filesystem.exists(descriptor_path) and filesystem.exists(run_path)):
            return None
        descriptor = read_work_json(descriptor_path)  # damaged (cut by a kill): the unit is redone
        return (
            descriptor if isinstance(descriptor, dict) and descriptor.get("fingerprint") == plan.fingerprint else None
        )

    def _scatter(self, chunk, over_cap, plan, run_path, descriptor_path, filesystem, thresholds=None) -> dict:
        counts: Counter[str] = Counter()
        records: list[tuple[int, str, tuple[bytes, memoryview]]] = []
        for table in read_chunk_tables(chunk, "samples", batch_rows=1024):
            counts["samples_read"] += table.num_rows
            keep = capped_keep_mask(table, self.capped, over_cap, thresholds)
            malformed = malformed_rows(table)  # never kept, and counted as such, not as capped
            rejected = 0 if malformed is None else int(malformed.sum())
            counts["rejected:malformed_matches"] += rejected
            counts["capped"] += int((~keep).sum()) - rejected
            images = binary_views(table.column("image"))
            metas = table.select(list(META_FIELDS)).to_pylist()
            for row, meta in enumerate(metas):
                if not keep[row]:
                    continue
                if meta["uid"] in self.taken_down:
                    counts["rejected:taken_down"] += 1
                elif meta["uid"] in self.curated_out:
                    counts["rejected:curated_out"] += 1
                elif not images[row]:
                    counts["rejected:missing_image"] += 1
                elif meta["image_format"] not in IMAGE_FORMATS:
                    counts["rejected:bad_image_format"] += 1
                else:
                    key = placement_key(self.settings.seed, meta["uid"])
                    records.append((key, meta["uid"], encode_record(key, meta, images[row])))
        records.sort(key=lambda record: (record[0], record[1]))
        segments = self._write_run(records, chunk.name, run_path, plan.shards)
        descriptor = {"fingerprint": plan.fingerprint, "counts": dict(counts), "segments": segments}
        write_json(descriptor_path, descriptor, indent=None)  # written last: the chunk's run is done
        return descriptor

    @staticmethod
    def _write_run(records: list, run: str, run_path: str, shards: int) -> list:
        segments: list = []
        offset = 0
        with atomic_output(run_path) as handle:
            start = 0
            while start < len(records):
                shard = shard_for(records[start][0], shards)
                end = start
                while end < len(records) and shard_for(records[end][0], shards) == shard:
                    end += 1
                keys = np.array([record[0] for record in records[start:end]], np.uint64)
                lengths = np.array([len(head) + len(image) for _, _, (head, image) in records[start:end]], np.uint32)
                segment = Segment(run, run_path, offset, keys.tobytes(), lengths.tobytes())
                for _, _, (head, image) in records[start:end]:
                    handle.write(head)
                    handle.write(image)
                offset += int(lengths.sum())
                segments.append(
                    (shard, {**asdict(segment), "keys": segment.keys.hex(), "lengths": segment.lengths.hex()})
                )
                start = end
        return segments
