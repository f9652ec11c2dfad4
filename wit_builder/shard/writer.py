"""Gather: one shard written from its segments, in placement-key order, without holding it.

The order is decided from the segments' metadata alone (their keys), so only record bytes that
are about to be written are in memory: each segment is read through a window of at most
``read_budget / segments`` bytes (at least one record), fetched with one ranged read
(``cat_file``), which is a plain seek on local disks and one GET on object stores.

A shard is written as ``NNNNNN.tar.partial`` and ``NNNNNN.parquet.partial``; its sidecar
(``work/shards/NNNNNN.json``: samples, bytes, SHA-256, and what the report needs) comes next,
then the index and last the tar are renamed into place. A shard whose tar, index and sidecar
exist with this run's fingerprint is finished, and a re-run only reads its sidecar.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import fsspec
import numpy as np
from apache_beam import pvalue

from wit_builder.atomic import atomic_output
from wit_builder.capping.languages import row_keys
from wit_builder.counting import split_by_shard
from wit_builder.io.json_files import read_work_json, write_json
from wit_builder.schemas import table_from_rows, write_table_omitting_nulls
from wit_builder.shard.placement import sample_key, shard_name
from wit_builder.shard.records import decode_record, index_row, sample_json
from wit_builder.shard.scatter import Segment
from wit_builder.shard.settings import ShardPlan, ShardRules
from wit_builder.shard.tar_format import end_of_archive, member
from wit_builder.stage_stats import StatsDoFn

KEPT = "kept"


class SegmentReader:
    """A segment's records in order, read through a window of about ``window`` bytes."""

    def __init__(self, filesystem, segment: Segment, window: int):
        self.filesystem = filesystem
        self.path = segment.path
        self.lengths = np.frombuffer(segment.lengths, np.uint32).tolist()
        self.end = segment.offset + sum(self.lengths)
        self.position = segment.offset
        self.window = window
        self.buffer = b""
        self.buffer_start = segment.offset
        self.next_record = 0

    def must_read(self) -> bool:
        """Whether the next record is past the window: ``read_next`` replaces the window."""
        return self.position - self.buffer_start + self.lengths[self.next_record] > len(self.buffer)

    def read_next(self) -> memoryview:
        """The next record, a view into the window (valid while anything holds it)."""
        length = self.lengths[self.next_record]
        self.next_record += 1
        start = self.position - self.buffer_start
        if start + length > len(self.buffer):
            stop = min(self.end, self.position + max(self.window, length))
            self.buffer = self.filesystem.cat_file(self.path, start=self.position, end=stop)
            self.buffer_start, start = self.position, 0
        self.position += length
        return memoryview(self.buffer)[start : start + length]


def merge_order(segments: list[Segment]) -> np.ndarray:
    """For each record in shard order, the index of the segment it comes from.

    Segments are taken in run-name order and their keys concatenated; a stable sort by key then
    breaks ties (the same uid in two inputs) by run name and place, the same on every runner.
    """
    keys = np.concatenate([np.frombuffer(segment.keys, np.uint64) for segment in segments])
    owner = np.concatenate([np.full(segment.count, i, np.int64) for i, segment in enumerate(segments)])
    return owner[np.argsort(keys, kind="stable")]


class HashingFile:
    """Counts and hashes what is written through it, in blocks of about ``block`` bytes.

    A sample's members are a dozen small pieces and an image: one write and one hash update a
    block costs less than one a piece (calls were a third of the stage's time). Each block is
    hashed on a second thread while it is written and the next one is built (``hashlib``
    releases the GIL on large data), so SHA-256 costs the stage almost no wall time. Use it as a
    context manager: leaving the block without an error writes what is pending and waits for
    its hash.
    """

    def __init__(self, handle, block: int = 1 << 20):
        self.handle = handle
        self.block = block
        self.pending: list[bytes | memoryview] = []
        self.pending_bytes = 0
        self.size = 0
        self._sha256 = hashlib.sha256()
        self._hasher = ThreadPoolExecutor(1, thread_name_prefix="sha256")
        self._hashing: Future | None = None

    def __enter__(self) -> HashingFile:
        return self

    def __exit__(self, error_type, *_) -> None:
        try:
            if error_type is None:
                self.flush()
            self._wait()
        finally:
            self._hasher.shutdown()

    def write(self, *pieces: bytes | memoryview) -> None:
        for piece in pieces:
            self.pending.append(piece)
            self.pending_bytes += len(piece)
        if self.pending_bytes >= self.block:
            self.flush()

    def flush(self) -> None:
        """Write the pending block now (its pieces may be views into buffers about to go)."""
        if self.pending:
            data = b"".join(self.pending)
            self._wait()  # one block hashing at a time, in order
            self._hashing = self._hasher.submit(self._sha256.update, data)
            self.handle.write(data)
            self.size += len(data)
            self.pending, self.pending_bytes = [], 0

    def _wait(self) -> None:
        if self._hashing is not None:
            self._hashing.result()
            self._hashing = None

    @property
    def written(self) -> int:
        """Bytes written so far, the pending block included."""
        return self.size + self.pending_bytes

    def hexdigest(self) -> str:
        """The SHA-256 of everything written (after the ``with`` block)."""
        self._wait()
        return self._sha256.hexdigest()


def shard_paths(out_dir: str, name: str) -> tuple[str, str, str]:
    """(tar, index, sidecar) of a shard."""
    out = out_dir.rstrip("/")
    return f"{out}/{name}.tar", f"{out}/{name}.parquet", f"{out}/work/shards/{name}.json"


class WriteShardFn(StatsDoFn):
    """Pass 4: (shard, segments) → the shard's tar, index and sidecar. Emits the sidecar (a dict)
    and, on the ``kept`` output, the shard's samples per query as count blobs (for the report)."""

    def __init__(self, settings: ShardRules, out_dir: str):
        self.settings = settings
        self.out_dir = out_dir

    def process(self, element: tuple[int, Iterable[Segment]], plan: ShardPlan, digits: tuple[int, int]) -> Iterator:
        shard, segments = element
        name = shard_name(shard, digits[0])
        tar_path, index_path, sidecar_path = shard_paths(self.out_dir, name)
        filesystem, _ = fsspec.core.url_to_fs(tar_path)
        sidecar = self._finished(filesystem, tar_path, index_path, sidecar_path, plan)
        if sidecar is None:
            sidecar = self._write(shard, name, sorted(segments, key=lambda s: (s.run, s.offset)), digits, plan)
        else:
            self.count("shards_resumed")
        self.count("written", sidecar["samples"])
        if sidecar["duplicate_uid"]:
            self.count("rejected:duplicate_uid", sidecar["duplicate_uid"])
        yield {key: sidecar[key] for key in ("name", "samples", "bytes", "sha256")}
        for part in split_by_shard(sidecar["kept_per_query"], self.settings.count_shards):
            yield pvalue.TaggedOutput(KEPT, part)

    @staticmethod
    def _finished(filesystem, tar_path, index_path, sidecar_path, plan: ShardPlan) -> dict | None:
        if not all(filesystem.exists(path) for path in (tar_path, index_path, sidecar_path)):
            return None
        sidecar = read_work_json(sidecar_path)  # damaged (cut by a kill): the unit is redone
        if not (isinstance(sidecar, dict) and sidecar.get("fingerprint") == plan.fingerprint):
            return None
        # A tar cut short or an index damaged since (a disk, a hand): the shard is written again.
        if filesystem.size(tar_path) != sidecar.get("bytes") or not _index_readable(index_path):
            return None
        return sidecar

    def _write(self, shard: int, name: str, segments: list[Segment], digits, plan: ShardPlan) -> dict:
        tar_path, index_path, sidecar_path = shard_paths(self.out_dir, name)
        filesystem, _ = fsspec.core.url_to_fs(tar_path)
        window = self.settings.read_budget // max(len(segments), 1)
        readers = [SegmentReader(filesystem, segment, window) for segment in segments]
        rows: list[dict] = []
        kept_per_query: Counter[str] = Counter()
        duplicates = 0
        previous_uid = None
        # The tar is renamed last (the commit); its index and sidecar are whole before it is.
        with atomic_output(tar_path) as handle:
            with HashingFile(handle) as tar:
                for owner in merge_order(segments).tolist():
                    reader = readers[owner]
                    if reader.must_read():
                        tar.flush()  # its pending pieces may be views into the window about to go
                    _, meta, image = decode_record(reader.read_next())
                    if meta["uid"] == previous_uid:  # the same uid in two inputs: same key, so adjacent
                        duplicates += 1
                        continue
                    previous_uid = meta["uid"]
                    key = sample_key(shard, len(rows), digits)
                    tar.write(
                        *member(f"{key}.{meta['image_format']}", image),
                        *member(f"{key}.json", sample_json(key, meta)),
                        *member(f"{key}.txt", meta["text"].encode("utf-8")),
                    )
                    rows.append(index_row(key, meta))
                    kept_per_query.update(row_keys(meta["matches"], meta.get("lang")))
                tar.write(end_of_archive(tar.written))
            write_table_omitting_nulls(table_from_rows(rows, "shard_index"), index_path, "shard_index")
            sidecar = {
                "name": f"{name}.tar",
                "fingerprint": plan.fingerprint,
                "samples": len(rows),
                "bytes": tar.size,
                "sha256": tar.hexdigest(),
                "duplicate_uid": duplicates,
                "kept_per_query": dict(kept_per_query),
            }
            filesystem.makedirs(sidecar_path.rsplit("/", 1)[0], exist_ok=True)
            write_json(sidecar_path, sidecar, indent=None)
        return sidecar


def _index_readable(path: str) -> bool:
    """Whether an index's Parquet footer reads; cheap (the footer only)."""
    from wit_builder.io.chunks import READ_ERRORS, read_footer

    try:
        read_footer(path)
    except READ_ERRORS:
        return False
    return True
