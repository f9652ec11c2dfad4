"""The download stage as a Beam pipeline: fetch and verify, dedupe, then write what is kept.

    balanced/part-*.parquet ─► chunks of --chunk-rows pairs ─► Reshuffle
        ─► pass 1 FetchChunkFn: fetch the URLs of a few chunks at once (asyncio + aiohttp, one
           session per worker), verify, resize, hash ─► work/fetched/C.parquet (images),
           work/outcomes/C.parquet (one status row per pair)          [skipped when done: resume]
        ─► pass 2: exact duplicates by SHA-256, near duplicates by banded perceptual hash
        ─► pass 3 FinalizeChunkFn ─► samples/C.parquet (kept images), status/C.parquet (every pair)

A chunk is the unit of work and of resumption: its two work files are written under temporary
names and renamed, outcomes last, so a chunk whose outcomes file exists is complete and a
re-run with the same ``--out`` skips it without fetching anything. A chunk is named by what it
holds (its input file's identity and row range) and by the settings that decide its outcomes
(``DownloadRules.work_key``), never by its place in a list: adding, removing or renaming input
files, or spelling ``--pairs`` another way, reuses exactly the chunks whose pairs are unchanged.
Passes 2 and 3 read only hashes and are always redone: their answer depends on every chunk.

The accounting is by counting: the pairs that came in are the readable files' rows by their
footers; the pairs accounted for are the status rows written, plus the rows of chunks that could
not be read (``unreadable_rows``, each with its file and error). ``adds_up`` compares the two.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass

import apache_beam as beam
import fsspec
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam import pvalue
from apache_beam.utils.windowed_value import WindowedValue

from wit_builder.atomic import write_atomically
from wit_builder.download.chunk_writer import work_path, write_chunk
from wit_builder.download.dedupe import HashedImage, exact_duplicates
from wit_builder.download.dedupe_transforms import NearDuplicates
from wit_builder.download.image_filters import apply_filters, build_filters
from wit_builder.download.image_work import FetchAndDecode
from wit_builder.download.opt_out import SIGNALS
from wit_builder.download.settings import DownloadRules
from wit_builder.io.chunks import READ_ERRORS, Chunk, parquet_columns, parquet_rows, read_chunk_tables
from wit_builder.io.json_files import write_json
from wit_builder.schemas import parquet_writer, read_batches, read_table, sparse_left_out, table_from_rows
from wit_builder.stage_stats import STATS, StatsDoFn, run_once

ERRORS = "errors"


def read_chunk(chunk: Chunk) -> list[dict]:
    """The chunk's pairs as dicts."""
    return [row for table in read_chunk_tables(chunk, "balanced") for row in table.to_pylist()]


@dataclass
class _InFlight:
    """A chunk whose pairs are being fetched, and where its name goes when it is written."""

    chunk: Chunk
    pairs: list[dict]
    outcomes: Future
    window: object
    timestamp: object


class FetchChunkFn(StatsDoFn):
    """Pass 1, a chunk at a time: fetch → decode and resize (``image_work``) → filters
    (``image_filters``) → one chunk writer (``chunk_writer``); a chunk already done (its outcomes
    file exists) is skipped. Up to ``chunks_in_flight`` chunks are fetched at once, their URLs
    together, so one slow host in a chunk does not hold the worker's connections idle; a chunk
    is written as soon as its last pair is done, while the others go on, and the next chunk
    comes in as soon as one leaves (no batch waits for its slowest member). A chunk whose rows
    cannot be read costs its rows alone: counted, its error reported."""

    def __init__(self, rules: DownloadRules, out_dir: str):
        self.rules = rules
        self.out_dir = out_dir

    def setup(self) -> None:
        self.filters = build_filters(self.rules, self.out_dir)
        digests = frozenset().union(*(image_filter.digests for image_filter in self.filters))
        self.work = FetchAndDecode(self.rules, digests)
        self.work.start()
        self.in_flight: list[_InFlight] = []

    def teardown(self) -> None:
        self._abandon()
        self.work.stop()

    def start_bundle(self) -> None:
        super().start_bundle()
        self._abandon()  # a failed bundle's chunks: their retry fetches them again

    def process(self, chunk: Chunk, window=beam.DoFn.WindowParam, timestamp=beam.DoFn.TimestampParam) -> Iterator:
        filesystem, _ = fsspec.core.url_to_fs(self.out_dir)
        if filesystem.exists(work_path(self.out_dir, "outcomes", chunk.name)):
            self.count("chunks_resumed")
            yield chunk.name
        else:
            yield from self._take(chunk, window, timestamp)

    def _take(self, chunk: Chunk, window, timestamp) -> Iterator:
        """The chunk put in flight, and then, while too many are, the first of them to finish
        written; a chunk whose rows cannot be read costs its rows alone: counted, its error reported."""
        try:
            pairs = read_chunk(chunk)
        except READ_ERRORS as error:
            self.count("unreadable_rows", chunk.rows)
            detail = f"rows {chunk.first_row:,}+{chunk.rows:,}: {type(error).__name__}: {error}"
            yield pvalue.TaggedOutput(ERRORS, (chunk.path, detail))
            return
        self.in_flight.append(_InFlight(chunk, pairs, self.work.submit(pairs), window, timestamp))
        while len(self.in_flight) >= self.rules.chunks_in_flight:
            yield self._write_next()

    def finish_bundle(self) -> Iterator:
        while self.in_flight:
            yield self._write_next()
        yield from super().finish_bundle()

    def _write_next(self) -> WindowedValue:
        """The first chunk in flight to finish, written; its name, in its own window."""
        wait([item.outcomes for item in self.in_flight], return_when=FIRST_COMPLETED)
        done = next(item for item in self.in_flight if item.outcomes.done())
        self.in_flight.remove(done)
        mine = done.outcomes.result()
        records = apply_filters(self.filters, mine)
        write_chunk(self.out_dir, done.chunk.name, mine, records)
        self._count_chunk(len(done.pairs))
        return WindowedValue(done.chunk.name, done.timestamp, (done.window,))

    def _abandon(self) -> None:
        for item in self.in_flight:
            item.outcomes.cancel()
        self.in_flight = []

    def _count_chunk(self, urls: int) -> None:
        self.count("chunks_fetched")
        self.count("urls_fetched", urls)
        for name, value in self.work.host_file_counts().items():
            self.count(name, value)
        for image_filter in self.filters:
            for name, value in image_filter.counts.items():
                self.count(name, value)
            image_filter.counts.clear()


def hashes_of_chunk(chunk_name: str, out_dir: str) -> Iterator[tuple[HashedImage, str]]:
    """(hash record, chunk) of every image pass 1 kept in a chunk (no image bytes are read)."""
    path = work_path(out_dir, "fetched", chunk_name)
    columns = ["uid", "sha256", "phash", "original_width", "original_height", "colour_grid"]
    for table in read_batches(path, "samples", columns):
        for row in table.to_pylist():
            aspect = row["original_width"] / max(row["original_height"], 1)
            yield HashedImage(row["uid"], row["sha256"], row["phash"], aspect, row["colour_grid"]), chunk_name


def exact_stage(element: tuple[str, list]) -> Iterator:
    """Per SHA-256: the kept image goes on to near dedupe; the others are duplicates."""
    _, records = element
    chunk_of = {image.uid: chunk for image, chunk in records}
    kept, dropped = exact_duplicates(image for image, _ in records)
    yield pvalue.TaggedOutput("kept", (kept, chunk_of[kept.uid]))
    for uid, duplicate_of in dropped:
        yield chunk_of[uid], (uid, duplicate_of)


class FinalizeChunkFn(StatsDoFn):
    """Pass 3: a chunk's samples without its duplicates, and its status rows with them."""

    def __init__(self, out_dir: str):
        self.out_dir = out_dir

    def process(self, element: tuple[str, dict]) -> Iterator[str]:
        chunk_name, grouped = element
        duplicate_of = dict(pair for pairs in grouped["duplicates"] for pair in pairs)
        out = self.out_dir.rstrip("/")
        outcomes = read_table(work_path(out, "outcomes", chunk_name), "status").to_pylist()
        for row in outcomes:
            if row["uid"] in duplicate_of and row["status"] == "ok":
                row["status"], row["duplicate_of"] = "duplicate", duplicate_of[row["uid"]]
            self.count(f"status:{row['status']}")
            if row["status"] == "opted_out":
                self.count(f"opted_out_by:{row['signal'] or 'unknown'}")
            elif row["status"] == "blocklisted":
                self.count(f"blocklisted_by:{row['list']}")
            elif row["status"] == "eval_duplicate":
                self.count(f"eval_duplicate_in:{row['list']}")
        fetched = work_path(out, "fetched", chunk_name)
        without = sparse_left_out(parquet_columns(fetched))
        # Each file whole (parquet_writer is atomic); the status file last, as the chunk's commit.
        with parquet_writer(f"{out}/samples/{chunk_name}.parquet", "samples", without) as write:
            for table in read_batches(fetched, "samples", batch_rows=1024):
                keep = pa.array([uid not in duplicate_of for uid in table.column("uid").to_pylist()])
                kept = table.filter(keep)
                self.count("faces_blurred", pc.sum(kept.column("faces_blurred")).as_py() or 0)
                write(kept.drop_columns(list(without)) if without else kept)
        filesystem, _ = fsspec.core.url_to_fs(out)
        if filesystem.exists(matches := work_path(out, "eval_matches", chunk_name)):  # for the report
            write_atomically(f"{out}/eval_matches/{chunk_name}.parquet", filesystem.cat_file(matches))
        with parquet_writer(f"{out}/status/{chunk_name}.parquet", "status") as write:
            write(table_from_rows(outcomes, "status"))
        self.count("status_rows", parquet_rows(f"{out}/status/{chunk_name}.parquet"))  # what was written
        yield chunk_name


def _by(stats: dict, kind: str) -> dict[str, int]:
    """The counters ``KIND:NAME`` as {NAME: count}, sorted."""
    return {name.split(":", 1)[1]: n for name, n in sorted(stats.items()) if name.startswith(f"{kind}:")}


def _opt_out_stats(rules: DownloadRules, stats: dict) -> dict:
    """The signals honoured and ignored, the URLs each refused, and the host files fetched."""
    host_files: dict[str, dict[str, int]] = {}
    for name, n in _by(stats, "host_file").items():
        file, outcome = name.split(":", 1)
        host_files.setdefault(file, {})[outcome] = n
    return {
        "honoured": [signal for signal in SIGNALS if rules.fetch.honours(signal)],
        "ignored": sorted(rules.fetch.ignore_opt_out),
        "opted_out_by_signal": _by(stats, "opted_out_by"),  # from the status rows: sums to statuses["opted_out"]
        "host_files_fetched": host_files,  # by this run's fetches (resumed chunks fetched none)
        "host_files_seconds": round(stats.get("host_files_ms", 0) / 1000, 3),
        "crawl_delay_waits": stats.get("crawl_delay_waits", 0),
    }


def write_stats(
    out_dir: str,
    rules: DownloadRules,
    chunks: list[Chunk],
    unreadable: list[tuple[str, str]],
    stats: dict,
    errors: list[tuple[str, str]],
) -> dict:
    """``stats.json``: pairs in (the chunks' rows, from the input footers) against the status
    rows written and the rows of chunks that could not be read."""
    statuses, by_list, by_set = (_by(stats, kind) for kind in ("status", "blocklisted_by", "eval_duplicate_in"))
    pairs_in = sum(chunk.rows for chunk in chunks)
    written, lost = stats.get("status_rows", 0), stats.get("unreadable_rows", 0)
    report = {
        "chunks": len(chunks),
        "chunks_fetched": stats.get("chunks_fetched", 0),
        "chunks_resumed": stats.get("chunks_resumed", 0),
        "pairs_in": pairs_in,
        "ok": statuses.get("ok", 0),
        "statuses": statuses,
        "status_rows": written,
        "unreadable_rows": lost,
        "adds_up": pairs_in == written + lost and written == sum(statuses.values()),
        "unreadable_files": [{"path": path, "error": error} for path, error in [*unreadable, *sorted(errors)]],
        "opt_out": _opt_out_stats(rules, stats),
        # Images each hash list refused, by the list's name; the lists' entries are never recorded.
        "blocklisted_by_list": by_list,
        "eval_sets": {
            "radius": rules.eval_radius,
            "checked": stats.get("eval_checked", 0),  # kept images with an informative PDQ, this run's fetches
            "duplicates_by_set": by_set,  # from the status rows: sums to statuses["eval_duplicate"]
        },
        "faces_blurred": stats.get("faces_blurred", 0),
        "rules": {
            "image_size": rules.image.image_size,
            "resize_mode": rules.image.resize_mode,
            "encode_format": rules.image.encode_format,
            "min_image_size": rules.image.min_image_size,
            "dedupe": rules.dedupe,
            "max_distance": rules.max_distance,
            "allow_private_network": rules.fetch.allow_private_network,
        },
    }
    write_json(f"{out_dir.rstrip('/')}/stats.json", report, schema="stats.download")
    return report


class DownloadImages(beam.PTransform):
    """The download stage over a PCollection of ``Chunk``s of pairs (``wit_builder.io.chunks``).

    Returns ``{"chunks": names of the finished chunks, "stats": (name, total), "errors": (path,
    error) of each chunk whose rows could not be read}``. A chunk is the
    unit of resumption, so this transform works in files under ``out_dir``: ``work/`` (what a
    re-run reuses) and, per chunk, ``samples/C.parquet`` and ``status/C.parquet``. Only the
    runner's ``stats.json`` is written outside it.
    """

    def __init__(self, rules: DownloadRules, out_dir: str):
        super().__init__()
        self.rules = rules
        self.out_dir = out_dir

    def expand(self, chunks: beam.PCollection) -> dict[str, beam.PCollection]:
        rules, out_dir = self.rules, self.out_dir
        fetched = (
            chunks
            | "SpreadChunks" >> beam.Reshuffle()
            | "Fetch" >> beam.ParDo(FetchChunkFn(rules, out_dir)).with_outputs(STATS, ERRORS, main="chunks")
        )
        names = fetched.chunks
        duplicates = names | "Dedupe" >> DuplicatesOfChunks(rules, out_dir)
        grouped = {
            "chunk": names | "KeyChunks" >> beam.Map(lambda name: (name, True)),
            "duplicates": duplicates | "DuplicatesByChunk" >> beam.GroupByKey(),
        } | "JoinDuplicates" >> beam.CoGroupByKey()
        final = grouped | "Finalize" >> beam.ParDo(FinalizeChunkFn(out_dir)).with_outputs(STATS, main="chunks")
        stats = (fetched[STATS], final[STATS]) | "AllStats" >> beam.Flatten() | "SumStats" >> beam.CombinePerKey(sum)
        return {"chunks": final.chunks, "stats": stats, "errors": fetched[ERRORS]}


class DuplicatesOfChunks(beam.PTransform):
    """(chunk, (uid, duplicate_of)) for every image of the fetched chunks that another one
    duplicates: exact copies by SHA-256, then near copies (``NearDuplicates``)."""

    def __init__(self, rules: DownloadRules, out_dir: str):
        super().__init__()
        self.rules = rules
        self.out_dir = out_dir

    def expand(self, names: beam.PCollection) -> beam.PCollection:
        rules = self.rules
        if not rules.dedupe:
            return names | "NoDuplicates" >> beam.FlatMap(lambda _: ())
        exact = (
            names
            | "ReadHashes" >> beam.FlatMap(hashes_of_chunk, self.out_dir)
            | "BySha256" >> beam.Map(lambda record: (record[0].sha256, record))
            | "GroupSha256" >> beam.GroupByKey()
            | "Exact" >> beam.FlatMap(exact_stage).with_outputs("kept", main="duplicates")
        )
        near_by_chunk = (
            exact.kept
            | "Near" >> NearDuplicates(rules.max_distance, rules.aspect_tolerance, rules.grid_tolerance)
            | "ToChunk" >> beam.Map(lambda kv: (kv[1][1], (kv[0], kv[1][0])))  # the tag is the uid's chunk
        )
        return (exact.duplicates, near_by_chunk) | "AllDuplicates" >> beam.Flatten()


def build_pipeline(
    pipeline: beam.Pipeline,
    chunks: list[Chunk],
    rules: DownloadRules,
    out_dir: str,
    unreadable: list[tuple[str, str]] = (),
):
    """The ``wit-builder download`` pipeline: the chunks of the balanced files, then stats.json."""
    downloaded = pipeline | "Chunks" >> beam.Create(chunks) | "Download" >> DownloadImages(rules, out_dir)
    stats, errors = pvalue.AsDict(downloaded["stats"]), pvalue.AsList(downloaded["errors"])
    return run_once(pipeline, "WriteStats", write_stats, out_dir, rules, chunks, list(unreadable), stats, errors)
