"""Pass 1's first two steps for a batch of pairs: fetch each URL, then decode, verify, resize and
hash its image. One event loop, one HTTP session (``fetch.Fetcher``) and one pool for the image
work per worker, built once (``start``) and closed once (``stop``).

Each body is processed as soon as it arrives and then dropped; at most ``2 × --concurrency``
bodies are in hand (being read or waiting for the image work), so when the network outpaces the
image work, requests wait rather than bodies piling up (``Fetcher.fetching``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import Counter
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

from wit_builder.download.fetch import Fetcher, FetchResult
from wit_builder.download.images import ProcessedImage, process_image
from wit_builder.download.outcomes import PairOutcome
from wit_builder.download.settings import DownloadRules


class FetchAndDecode:
    """``start()``, then ``run(pairs)`` per batch (one ``PairOutcome`` per pair, in order), then
    ``stop()``. ``digests`` are the hashes the filters compare (``image_filters``), computed
    beside the image work and only for them."""

    def __init__(self, rules: DownloadRules, digests: frozenset[str]):
        self.rules = rules
        self.digests = digests

    def start(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.fetcher = Fetcher(self.rules.fetch)
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

    def stop(self) -> None:
        self.loop.run_until_complete(self.fetcher.__aexit__(None, None, None))
        self.loop.close()
        self.pool.shutdown()

    def run(self, pairs: list[dict]) -> list[PairOutcome]:
        """Every pair fetched together, so one slow host does not hold the connections idle."""

        async def every() -> list[PairOutcome]:
            return list(await asyncio.gather(*(self._one(pair) for pair in pairs)))

        return self.loop.run_until_complete(every())

    def host_file_counts(self) -> Counter[str]:
        """The host files fetched since the last call (robots.txt read, missing, unreachable...)."""
        counts, self.fetcher.host_files.counts = self.fetcher.host_files.counts, Counter()
        return counts

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
