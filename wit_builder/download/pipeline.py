"""The download stage as a Beam pipeline: fetch and verify, dedupe, then write what is kept.

    balanced/part-*.parquet ─► chunks of --chunk-rows pairs ─► Reshuffle
        ─► BatchElements ─► pass 1 FetchChunkFn: fetch every URL of a batch of chunks at once
           (asyncio + aiohttp, one session per worker), verify, resize, hash ─► work/fetched/C.parquet (images),
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

import asyncio
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass

import apache_beam as beam
import fsspec
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam import pvalue

from wit_builder.atomic import write_atomically
from wit_builder.download.dedupe import HashedImage, exact_duplicates
from wit_builder.download.dedupe_transforms import NearDuplicates
from wit_builder.download.eval_sets import EvalIndex, EvalSet
from wit_builder.download.fetch import Fetcher, FetchResult
from wit_builder.download.hash_blocklists import HashBlocklists
from wit_builder.download.images import ProcessedImage, process_image, thumbnail
from wit_builder.download.opt_out import SIGNALS
from wit_builder.download.settings import DownloadRules
from wit_builder.io.chunks import READ_ERRORS, Chunk, parquet_columns, parquet_rows, read_chunk_tables
from wit_builder.io.json_files import write_json
from wit_builder.schemas import parquet_writer, read_batches, read_table, table_from_rows
from wit_builder.stage_stats import STATS, StatsDoFn, run_once

PAIR_COLUMNS = ("uid", "url", "text", "page_url", "source", "matches")
ERRORS = "errors"


def eval_set_names(rules: DownloadRules) -> list[str]:
    return [EvalSet.parse(text).name for text in rules.eval_sets]


def read_chunk(chunk: Chunk) -> list[dict]:
    """The chunk's pairs as dicts."""
    return [row for table in read_chunk_tables(chunk, "balanced") for row in table.to_pylist()]


def work_path(out_dir: str, kind: str, chunk_name: str) -> str:
    return f"{out_dir.rstrip('/')}/work/{kind}/{chunk_name}.parquet"


def _write_whole(table: pa.Table, path: str, schema: str, without: tuple[str, ...] = ()) -> None:
    """One chunk's file, written whole (``parquet_writer`` is atomic): its outcomes file, written
    last, marks the chunk done."""
    with parquet_writer(path, schema, without) as write:
        write(table.drop_columns(list(without)) if without else table)


def without_language(pairs: list[dict]) -> tuple[str, ...]:
    """``("lang",)`` when no pair has a language (an English-only list): its files are written
    without the column, as before languages existed."""
    return () if any(pair.get("lang") for pair in pairs) else ("lang",)


@dataclass(frozen=True)
class Decided:
    """What decided a pair's status, as data (the status row's columns): the opt-out ``signal``,
    the ``evidence`` (the rule or line, with where it came from), the ``list`` (blocklist or
    evaluation set) and the ``score`` (a PDQ distance). ``error`` stays a sentence for people;
    nothing reads these back out of it."""

    signal: str | None = None
    evidence: str | None = None
    list: str | None = None
    score: float | None = None


NOTHING_DECIDED = Decided()  # a status that says all: a timeout, an HTTP error, too small...


def outcome_row(
    pair: dict,
    status: str,
    http_status: int | None = None,
    error: str | None = None,
    decided: Decided = NOTHING_DECIDED,
) -> dict:
    return {
        "uid": pair["uid"],
        "url": pair["url"],
        "status": status,
        "http_status": http_status,
        "error": error,
        "duplicate_of": None,
        "signal": decided.signal,
        "evidence": decided.evidence,
        "list": decided.list,
        "score": decided.score,
    }


def sample_row(pair: dict, image: ProcessedImage, original_bytes: int) -> dict:
    return {
        "faces_blurred": image.faces_blurred,
        **{column: pair[column] for column in PAIR_COLUMNS},
        "lang": pair.get("lang"),  # a worldwide list's caption language
        "image": image.image,
        "image_format": image.image_format,
        "width": image.width,
        "height": image.height,
        "original_width": image.original_width,
        "original_height": image.original_height,
        "original_bytes": original_bytes,
        "sha256": image.sha256,
        "phash": image.phash,
        "colour_grid": image.colour_grid,
    }


class FetchChunkFn(StatsDoFn):
    """Pass 1: fetch, verify and hash a batch of chunks; writes each chunk's two work files
    (or finds them from an earlier run)."""

    def __init__(self, rules: DownloadRules, out_dir: str):
        self.rules = rules
        self.out_dir = out_dir

    def setup(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.fetcher = Fetcher(self.rules.fetch)
        rules = self.rules
        self.blocklists = HashBlocklists(rules.blocklists, rules.pdq_radius) if rules.blocklists else None
        self.eval_index = EvalIndex(self.out_dir, eval_set_names(rules), rules.eval_radius) if rules.eval_sets else None
        # The digests the lists and sets compare, computed beside the image work and only for them.
        self.wanted = (self.blocklists.kinds if self.blocklists else frozenset()) | (
            {"pdq"} if self.eval_index else frozenset()
        )
        self.loop.run_until_complete(self.fetcher.__aenter__())
        # Threads suit runners that already run one worker process per core (Dataflow): Pillow
        # releases the GIL while decoding and resizing. With one worker process for the whole
        # machine, a process pool keeps image work off the event loop's GIL.
        self.pool: Executor
        if self.rules.image_processes > 0:
            context = multiprocessing.get_context("forkserver")
            # Workers fork from a server that has imported the image code once, not each on its own.
            context.set_forkserver_preload(["wit_builder.download.images"])
            self.pool = ProcessPoolExecutor(max_workers=self.rules.image_processes, mp_context=context)
        else:
            self.pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="images")

    def teardown(self) -> None:
        self.loop.run_until_complete(self.fetcher.__aexit__(None, None, None))
        self.loop.close()
        self.pool.shutdown()

    def process(self, batch: list[Chunk]) -> Iterator:
        """A batch of chunks (``BatchElements``): their URLs are fetched together, so one slow
        host in a chunk does not hold the worker's connections idle. Each body is processed as
        soon as it arrives and then dropped; at most ``2 × --concurrency`` bodies are in hand
        (being read or waiting for the image work), so when the network outpaces the image work,
        requests wait rather than bodies piling up (``Fetcher.fetching``).
        A chunk whose rows cannot be read costs its rows alone: counted, its error reported."""
        todo: list[tuple[Chunk, list[dict]]] = []
        filesystem, _ = fsspec.core.url_to_fs(self.out_dir)
        for chunk in batch:
            if filesystem.exists(work_path(self.out_dir, "outcomes", chunk.name)):
                self.count("chunks_resumed")
                yield chunk.name
                continue
            try:
                todo.append((chunk, read_chunk(chunk)))
            except READ_ERRORS as error:
                self.count("unreadable_rows", chunk.rows)
                detail = f"rows {chunk.first_row:,}+{chunk.rows:,}: {type(error).__name__}: {error}"
                yield pvalue.TaggedOutput(ERRORS, (chunk.path, detail))
        pairs = [pair for _, chunk_pairs in todo for pair in chunk_pairs]
        done = iter(self.loop.run_until_complete(self._fetch_and_process_all(pairs)))
        for chunk, chunk_pairs in todo:
            self._write_chunk(chunk, chunk_pairs, [next(done) for _ in chunk_pairs])
            yield chunk.name

    async def _fetch_and_process_all(self, pairs: list[dict]) -> list[tuple]:
        return list(await asyncio.gather(*(self._fetch_and_process(pair) for pair in pairs)))

    async def _fetch_and_process(self, pair: dict) -> tuple[FetchResult, ProcessedImage | None, int]:
        url, page_opt_out = pair["url"], pair.get("page_opt_out")
        if None in pair["matches"]:  # another tool's file, or damage: the pair costs itself, not the chunk
            return FetchResult(url, "malformed_pair", error="its matches hold a null"), None, 0
        if page_opt_out and self.rules.fetch.honours("meta"):  # its page said so: not even asked for
            return FetchResult(url, "opted_out", error=page_opt_out, signal="meta", evidence=page_opt_out), None, 0
        async with self.fetcher.fetching(url) as result:  # holds a body slot until the image is done
            if result.status != "fetched":
                return result, None, 0
            body, result.body = result.body or b"", None
            boxes = pair.get("face_bboxes")
            try:
                image = await self.loop.run_in_executor(
                    self.pool, process_image, body, self.rules.image, self.wanted, boxes
                )
            except Exception as error:  # a decoder failing in a way Pillow does not document: record it
                image = ProcessedImage("decode_error", f"{type(error).__name__}: {error}")
        listed = self.blocklists is not None and image.status == "ok" and image.digests is not None
        if listed and (found := self.blocklists.listing(image.digests)):  # bytes and hashes end here, unrecorded
            image = ProcessedImage("blocklisted", f"blocklist {found.name}")
            result.evidence, result.score, result.list = f"{found.kind} hash listed", found.distance, found.name
        return result, image, len(body)

    def _eval_matches(self, pairs: list[dict], done: list[tuple]) -> dict[str, dict]:
        """The chunk's kept images that are near copies of an evaluation image: uid -> match record
        (with a thumbnail of the copy, for the auditor's side-by-side)."""
        if self.eval_index is None:
            return {}
        from wit_builder.download.pdq import MIN_QUALITY

        candidates = [
            (pair, image)
            for pair, (_, image, _) in zip(pairs, done, strict=True)
            if image is not None and image.status == "ok" and image.digests and image.pdq_quality >= MIN_QUALITY
        ]
        self.count("eval_checked", len(candidates))
        found = self.eval_index.find([image.digests.pdq for _, image in candidates])
        records = {}
        for (pair, image), match in zip(candidates, found, strict=True):
            if match is not None:
                records[pair["uid"]] = {
                    "uid": pair["uid"],
                    "url": pair["url"],
                    "eval_set": match.eval_set,
                    "eval_id": match.eval_id,
                    "distance": match.distance,
                    "thumbnail": thumbnail(image.image),
                }
        return records

    def _write_chunk(self, chunk: Chunk, pairs: list[dict], done: list[tuple]) -> None:
        samples, outcomes = [], []
        eval_matches = self._eval_matches(pairs, done)
        for pair, (result, image, body_bytes) in zip(pairs, done, strict=True):
            if image is None:
                decided = Decided(signal=result.signal, evidence=result.evidence)
                outcomes.append(outcome_row(pair, result.status, result.http_status, result.error, decided))
                continue
            if (match := eval_matches.get(pair["uid"])) is not None:
                detail = f"eval set {match['eval_set']}: {match['eval_id']} (PDQ distance {match['distance']})"
                decided = Decided(
                    evidence=f"evaluation image {match['eval_id']}", list=match["eval_set"], score=match["distance"]
                )
                outcomes.append(outcome_row(pair, "eval_duplicate", result.http_status, detail, decided))
                continue
            decided = Decided(evidence=result.evidence, list=result.list, score=result.score)
            outcomes.append(outcome_row(pair, image.status, result.http_status, image.error, decided))
            if image.status == "ok":
                samples.append(sample_row(pair, image, body_bytes))
        self.count("chunks_fetched")
        self.count("urls_fetched", len(pairs))
        counts = self.fetcher.host_files.counts
        for name in list(counts):
            self.count(name, counts.pop(name))
        _write_whole(
            table_from_rows(samples, "samples"),
            work_path(self.out_dir, "fetched", chunk.name),
            "samples",
            without_language(pairs),
        )
        if eval_matches:  # before the outcomes, which mark the chunk done
            _write_whole(
                table_from_rows(list(eval_matches.values()), "eval_matches"),
                work_path(self.out_dir, "eval_matches", chunk.name),
                "eval_matches",
            )
        _write_whole(table_from_rows(outcomes, "status"), work_path(self.out_dir, "outcomes", chunk.name), "status")


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
        without = () if "lang" in parquet_columns(fetched) else ("lang",)
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
    statuses = {name.split(":", 1)[1]: n for name, n in sorted(stats.items()) if name.startswith("status:")}
    by_signal = {name.split(":", 1)[1]: n for name, n in sorted(stats.items()) if name.startswith("opted_out_by:")}
    by_list = {name.split(":", 1)[1]: n for name, n in sorted(stats.items()) if name.startswith("blocklisted_by:")}
    by_set = {name.split(":", 1)[1]: n for name, n in sorted(stats.items()) if name.startswith("eval_duplicate_in:")}
    host_files: dict[str, dict[str, int]] = {}
    for name, n in sorted(stats.items()):
        if name.startswith("host_file:"):
            _, file, outcome = name.split(":", 2)
            host_files.setdefault(file, {})[outcome] = n
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
        "opt_out": {
            "honoured": [signal for signal in SIGNALS if rules.fetch.honours(signal)],
            "ignored": sorted(rules.fetch.ignore_opt_out),
            "opted_out_by_signal": by_signal,  # from the status rows: sums to statuses["opted_out"]
            "host_files_fetched": host_files,  # by this run's fetches (resumed chunks fetched none)
            "host_files_seconds": round(stats.get("host_files_ms", 0) / 1000, 3),
            "crawl_delay_waits": stats.get("crawl_delay_waits", 0),
        },
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
            | "BatchChunks"
            >> beam.BatchElements(min_batch_size=rules.chunks_per_batch, max_batch_size=rules.chunks_per_batch)
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
