"""Pass 1 keeps a few chunks in flight: a chunk is written as soon as its own pairs are done,
whatever the other chunks in hand are waiting for, and a failed bundle's chunks are dropped.

The server holds one URL until the test lets it go, so what is checked is an order of events,
not a duration: nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue
from PIL import Image

from wit_builder.download.chunk_writer import work_path
from wit_builder.download.opt_out import SIGNALS
from wit_builder.download.pipeline import FetchChunkFn
from wit_builder.download.settings import DownloadRules, FetchSettings, ImageSettings
from wit_builder.harvest.normalise import url_uid
from wit_builder.io.chunks import plan_chunks
from wit_builder.schemas import table_from_rows, write_table

pytestmark = pytest.mark.network

WAIT = 60.0  # a safety limit only: the held URL is let go by the test long before


class HeldWeb:
    """Loopback server: ``/img/N.png`` answers at once; ``/held.png`` answers once ``release()``."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.held = asyncio.Event()
        self.asked = threading.Event()  # /held.png was requested
        started = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self.thread.start()
        started.wait(WAIT)

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_get("/img/{n}.png", self._image)
        app.router.add_get("/held.png", self._held)
        self.runner = web.AppRunner(app)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        started.set()
        self.loop.run_forever()

    @staticmethod
    def png(shade: int) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (48, 32), (shade, 255 - shade, 40)).save(out, "PNG")
        return out.getvalue()

    async def _image(self, request: web.Request) -> web.Response:
        return web.Response(body=self.png(int(request.match_info["n"]) * 20), content_type="image/png")

    async def _held(self, _request: web.Request) -> web.Response:
        self.asked.set()
        await asyncio.wait_for(self.held.wait(), WAIT)
        return web.Response(body=self.png(250), content_type="image/png")

    def release(self) -> None:
        self.loop.call_soon_threadsafe(self.held.set)

    def close(self) -> None:
        self.release()
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(WAIT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)


@pytest.fixture
def held_web() -> Iterator[HeldWeb]:
    server = HeldWeb()
    yield server
    server.close()


def chunk_of(folder: Path, name: str, urls: list[str]):
    rows = [
        {"uid": url_uid(u), "url": u, "text": f"pair {k}", "page_url": None, "source": "test", "matches": ["pair"]}
        for k, u in enumerate(urls)
    ]
    path = str(folder / f"{name}.parquet")
    write_table(table_from_rows(rows, "balanced"), path, "balanced")
    (chunk,) = plan_chunks([path], chunk_rows=len(rows))
    return chunk


RULES = DownloadRules(
    fetch=FetchSettings(allow_private_network=True, ignore_opt_out=frozenset(SIGNALS), retries=0),
    image=ImageSettings(min_image_size=0, image_size=32),
    chunks_in_flight=2,
)
WHERE = {"window": GlobalWindow(), "timestamp": MIN_TIMESTAMP}


def done(out: Path, chunk) -> bool:
    return Path(work_path(str(out), "outcomes", chunk.name)).exists()


def test_a_chunk_is_written_while_another_waits_on_a_slow_url(held_web, tmp_path):
    waiting = chunk_of(tmp_path, "waiting", [f"{held_web.base}/held.png", f"{held_web.base}/img/1.png"])
    quick = chunk_of(tmp_path, "quick", [f"{held_web.base}/img/2.png", f"{held_web.base}/img/3.png"])
    out = tmp_path / "out"
    fetch = FetchChunkFn(RULES, str(out))
    fetch.setup()
    try:
        fetch.start_bundle()
        assert list(fetch.process(waiting, **WHERE)) == []  # one chunk in hand: nothing waits yet
        assert held_web.asked.wait(WAIT)
        # Two in hand: process waits for the first to finish, which is the quick one.
        (written,) = fetch.process(quick, **WHERE)
        assert isinstance(written, WindowedValue) and written.value == quick.name
        assert written.windows == (GlobalWindow(),) and written.timestamp == MIN_TIMESTAMP
        assert done(out, quick) and not done(out, waiting)
        held_web.release()
        finished = list(fetch.finish_bundle())
        assert [o.value for o in finished if isinstance(o, WindowedValue)] == [waiting.name]
        counts = dict(o.value.value for o in finished if not isinstance(o, WindowedValue))
        assert counts["chunks_fetched"] == 2 and counts["urls_fetched"] == 4
        assert done(out, waiting)
    finally:
        fetch.teardown()


def test_a_failed_bundles_chunks_are_dropped_not_written(held_web, tmp_path):
    waiting = chunk_of(tmp_path, "waiting", [f"{held_web.base}/held.png"])
    out = tmp_path / "out"
    fetch = FetchChunkFn(RULES, str(out))
    fetch.setup()
    try:
        fetch.start_bundle()
        assert list(fetch.process(waiting, **WHERE)) == []
        assert held_web.asked.wait(WAIT)
        fetch.start_bundle()  # the runner gave up on that bundle and starts another
        held_web.release()
        assert [o for o in fetch.finish_bundle() if isinstance(o, WindowedValue)] == []
        assert not done(out, waiting)  # its retry fetches it afresh
    finally:
        fetch.teardown()


def test_a_chunk_whose_file_went_away_costs_its_rows_alone(held_web, tmp_path):
    gone = chunk_of(tmp_path, "gone", [f"{held_web.base}/img/1.png", f"{held_web.base}/img/2.png"])
    kept = chunk_of(tmp_path, "kept", [f"{held_web.base}/img/3.png"])
    Path(gone.path).unlink()  # after planning, before the worker reads it
    out = tmp_path / "out"
    fetch = FetchChunkFn(RULES, str(out))
    fetch.setup()
    try:
        fetch.start_bundle()
        (error,) = fetch.process(gone, **WHERE)
        assert error.tag == "errors" and error.value[0] == gone.path and "rows 0+2" in error.value[1]
        assert list(fetch.process(kept, **WHERE)) == []
        finished = list(fetch.finish_bundle())
        assert [o.value for o in finished if isinstance(o, WindowedValue)] == [kept.name]
        counts = dict(o.value.value for o in finished if not isinstance(o, WindowedValue))
        assert counts["unreadable_rows"] == 2 and counts["urls_fetched"] == 1
    finally:
        fetch.teardown()
