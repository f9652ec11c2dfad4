"""Pass 1's first two steps for a batch of pairs: fetch each URL, then decode, verify, resize and
hash its image. One event loop, one HTTP session (``fetch.Fetcher``) and one pool for the image
work per worker, built once (``start``) and closed once (``stop``).

The event loop runs in a thread of its own, so work goes on while the caller does other things:
``submit(pairs)`` returns at once with a future of the batch's outcomes, and the pipeline
writes one finished chunk while the next ones are being fetched (``pipeline.FetchChunkFn``).

Each body is processed as soon as it arrives and then dropped; at most ``2 × --concurrency``
bodies are in hand (being read or waiting for the image work), so when the network outpaces the
image work, requests wait rather than bodies piling up (``Fetcher.fetching``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from collections import Counter
from collections.abc import Coroutine
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

from wit_builder.download.fetch import Fetcher, FetchResult
from wit_builder.download.images import ProcessedImage, process_image
from wit_builder.download.outcomes import PairOutcome
from wit_builder.download.settings import DownloadRules

T = TypeVar("T")


class FetchAndDecode:
    """``start()``, then ``submit(pairs)`` per batch (a future of one ``PairOutcome`` per pair,
    in order), then ``stop()``. ``digests`` are the hashes the filters compare
    (``image_filters``), computed beside the image work and only for them."""

    def __init__(self, rules: DownloadRules, digests: frozenset[str]):
        self.rules = rules
        self.digests = digests

    def start(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fetch-loop", daemon=True)
        self._thread.start()
        self.fetcher = Fetcher(self.rules.fetch)
        self._call(self.fetcher.__aenter__())
        # Threads by default: Pillow releases the GIL while decoding, resizing and (into a file,
        # ``encoding``) encoding, and they measured fastest even for one local worker. A process
        # pool shares no GIL but pays for pickled bodies, pipes and an interpreter each.
        self.pool: Executor
        if self.rules.image_processes > 0:
            context = multiprocessing.get_context("forkserver")
            # Workers fork from a server that has imported the image code once, not each on its own.
            context.set_forkserver_preload(["wit_builder.download.images"])
            self.pool = ProcessPoolExecutor(max_workers=self.rules.image_processes, mp_context=context)
        else:
            self.pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="images")

    def stop(self) -> None:
        self._call(self.fetcher.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()
        self.pool.shutdown()

    def submit(self, pairs: list[dict]) -> Future[list[PairOutcome]]:
        """The batch's outcomes, to come: its pairs are fetched alongside every other batch in
        hand, so one slow host does not hold the connections idle. Cancelling the future
        cancels the batch's fetches."""
        return asyncio.run_coroutine_threadsafe(self._every(pairs), self.loop)

    def host_file_counts(self) -> Counter[str]:
        """The host files fetched since the last call (robots.txt read, missing, unreachable...),
        taken in the loop's own thread, so that no count made meanwhile is lost."""

        async def take() -> Counter[str]:
            counts, self.fetcher.host_files.counts = self.fetcher.host_files.counts, Counter()
            return counts

        return self._call(take())

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    async def _every(self, pairs: list[dict]) -> list[PairOutcome]:
        return list(await asyncio.gather(*(self._one(pair) for pair in pairs)))

    async def _one(self, pair: dict) -> PairOutcome:
        url, page_opt_out = pair["url"], pair.get("page_opt_out")
        if None in pair["matches"]:  # another tool's file, or damage: the pair costs itself, not the chunk
            return PairOutcome.of(pair, FetchResult(url, "malformed_pair", error="its matches hold a null"))
        if page_opt_out and self.rules.fetch.honours("meta"):  # its page said so: not even asked for
            refused = FetchResult(url, "opted_out", error=page_opt_out, signal="meta", evidence=page_opt_out)
            return PairOutcome.of(pair, refused)
        async with self.fetcher.fetching(url) as result:  # holds a body slot until the image is done
            if result.status != "fetched":
                return PairOutcome.of(pair, result)
            body, result.body = result.body or b"", None
            boxes = pair.get("face_bboxes")
            try:
                image = await self.loop.run_in_executor(
                    self.pool, process_image, body, self.rules.image, self.digests, boxes
                )
            except Exception as error:  # a decoder failing in a way Pillow does not document: record it
                image = ProcessedImage("decode_error", f"{type(error).__name__}: {error}")
        return PairOutcome.of(pair, result, image, len(body))
