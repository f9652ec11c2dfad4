"""The synthetic web: an aiohttp server on loopback addresses serving the catalogue.

It listens on one port on ``hosts`` loopback addresses (127.0.0.1, 127.0.0.2, ...), so a
downloader sees several hosts and its per-host limits matter. It runs its own event loop in a
daemon thread, so tests, the demo and benchmarks use it as a context manager:

    with SyntheticWeb(catalog) as web:
        web.base_urls  # ["http://127.0.0.1:PORT", "http://127.0.0.2:PORT", ...]

Routes: ``/img/ID.EXT`` (an image), ``/f/FAULT/ID.EXT`` (the image behind a scripted fault,
see ``catalog.FAULTS``), ``/redirected/ID.EXT`` (where the ``redirect`` fault leads),
``/pages/ID.html`` (a page embedding images), ``/planted/NAME`` (the photo-like pictures of
``planted``, on the first host), ``/extra/NAME`` (files handed to the server, e.g. a
benchmark's photos) and ``/`` (the list of faults).

The web can change its mind after a collection, as the real one does: ``change(path, ...)``
makes one host, or every host, answer a path otherwise from then on (a robots.txt that now
disallows, a tdmrep.json that now reserves, an image replaced or gone), so ``recheck`` is
tested against a web that drifted.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from aiohttp import web

from wit_builder.synthetic.catalog import FAULTS, ImageEntry, WebCatalog
from wit_builder.synthetic.opt_out_sites import HEADER_FAULTS, host_file
from wit_builder.synthetic.planted import PlantedSet
from wit_builder.synthetic.scenes import ENCODINGS, encode_image, render_scene

NOT_AN_IMAGE = b"<!DOCTYPE html><html><body><p>This is not an image.</p></body></html>\n"


def image_bytes(image: ImageEntry) -> bytes:
    """The encoded image file the server sends for ``image``."""
    return _encoded(image)


@lru_cache(maxsize=8192)
def _encoded(image: ImageEntry) -> bytes:
    return encode_image(render_scene(image.scene, image.width, image.height, image.jitter), image.extension)


@dataclass(frozen=True)
class Change:
    """What a path answers after the web changed its mind."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        return web.Response(status=self.status, body=self.body, content_type=self.content_type, headers=self.headers)


class SyntheticWeb:
    """Serves a ``WebCatalog`` on loopback; ``requests`` counts requests per path."""

    def __init__(
        self,
        catalog: WebCatalog,
        slow_seconds: float = 3.0,
        hosts: int | None = None,
        port: int = 0,
        extra: dict[str, bytes] | None = None,
    ):
        self.catalog = catalog
        self.port = port  # 0: any free port; a fixed one makes every URL, and so every output, repeatable
        self.slow_seconds = slow_seconds
        self.host_count = hosts or catalog.host_count
        self.requests: Counter[str] = Counter()
        self.base_urls: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.planted = PlantedSet(catalog.config.seed)
        self.extra = extra or {}  # files served as they are under /extra/NAME on every host (benchmarks)
        self.changes: dict[tuple[int | None, str], Change] = {}  # (host number or None for all, path)

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> SyntheticWeb:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> list[str]:
        """Start serving; returns the base URL of each host."""
        sockets = _bind_loopback(self.host_count, self.port)
        port = sockets[0].getsockname()[1]
        self.base_urls = [f"http://127.0.0.{k + 1}:{port}" for k in range(self.host_count)]
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(sockets, started), daemon=True, name="synthetic-web")
        self._thread.start()
        if not started.wait(timeout=30):
            raise RuntimeError("the synthetic web did not start within 30 s")
        return self.base_urls

    def _serve(self, sockets: list[socket.socket], started: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        self._runner = web.AppRunner(self._app(), access_log=None)
        loop.run_until_complete(self._runner.setup())
        for sock in sockets:
            loop.run_until_complete(web.SockSite(self._runner, sock).start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop = self._thread = None

    def prerender(self) -> None:
        """Encode every image now, so timing a client does not time the server's drawing."""
        for image in self.catalog.images:
            image_bytes(image)

    # -- changing its mind -----------------------------------------------------------------

    def change(
        self,
        path: str,
        *,
        body: bytes | str = b"",
        status: int = 200,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        host: int | None = None,
    ) -> None:
        """From now on, answer ``path`` on host number ``host`` (0 for 127.0.0.1; None: every
        host) with ``status``, ``body`` and ``headers`` instead of what the catalogue says. An
        image replaced keeps its content type unless another is given."""
        data = body.encode() if isinstance(body, str) else body
        if content_type is None:
            extension = path.rsplit(".", 1)[-1]
            types = {**{name: mime for name, (_, mime) in ENCODINGS.items()}, "json": "application/json"}
            content_type = types.get(extension, "text/plain")
        with self._lock:
            self.changes[(host, path)] = Change(status, data, content_type, dict(headers or {}))

    def forget_changes(self) -> None:
        """Serve the catalogue as it was."""
        with self._lock:
            self.changes.clear()

    @web.middleware
    async def _changed(self, request: web.Request, handler) -> web.StreamResponse:
        """A changed path's new answer, before any route (so a path the catalogue lacks can be added)."""
        if self.changes:
            with self._lock:
                found = self.changes.get((_host_number(request), request.path)) or self.changes.get(
                    (None, request.path)
                )
            if found is not None:
                self._count(request)
                return found.response()
        return await handler(request)

    # -- handlers ---------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._changed])
        app.router.add_get("/", self._index)
        app.router.add_get("/img/{name}", self._image)
        app.router.add_get("/f/{fault}/{name}", self._fault)
        app.router.add_get("/redirected/{name}", self._redirected)
        app.router.add_get("/pages/{page_id}.html", self._page)
        app.router.add_get("/planted/{name}", self._planted)
        app.router.add_get("/extra/{name}", self._extra)
        for path in ("robots.txt", "moved/robots.txt", ".well-known/tdmrep.json", "ai.txt"):
            app.router.add_get(f"/{path}", self._host_file)
        return app

    async def _host_file(self, request: web.Request) -> web.StreamResponse:
        """A host's robots.txt, tdmrep.json or ai.txt (``opt_out_sites``), by the host asked."""
        self._count(request)
        served = host_file(_host_number(request), self.catalog.config.hosts, request.path.lstrip("/"))
        if served is None:
            raise web.HTTPNotFound()
        if isinstance(served, int):
            return web.Response(status=served, text="unavailable\n")
        if isinstance(served, tuple):
            raise web.HTTPFound(served[1])
        content_type = "application/json" if request.path.endswith(".json") else "text/plain"
        return web.Response(text=served, content_type=content_type)

    def _count(self, request: web.Request) -> int:
        """Record the request; returns how many times this path was asked for, this one included."""
        with self._lock:
            self.requests[request.path] += 1
            return self.requests[request.path]

    def _lookup(self, name: str) -> ImageEntry:
        stem, _, extension = name.partition(".")
        if not stem.isdigit() or int(stem) >= len(self.catalog.images):
            raise web.HTTPNotFound()
        image = self.catalog.images[int(stem)]
        if image.extension != extension:
            raise web.HTTPNotFound()
        return image

    @staticmethod
    def _image_response(image: ImageEntry, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(body=image_bytes(image), content_type=ENCODINGS[image.extension][1], headers=headers)

    async def _index(self, request: web.Request) -> web.Response:
        lines = [f"{name}: {behaviour}" for name, (behaviour, _) in FAULTS.items()]
        return web.Response(
            text="Synthetic web of wit-builder. Faults under /f/NAME/ID.EXT:\n" + "\n".join(lines) + "\n"
        )

    async def _image(self, request: web.Request) -> web.Response:
        self._count(request)
        image = self._lookup(request.match_info["name"])
        if image.fault:  # a faulty image is only reachable through its fault route
            raise web.HTTPNotFound()
        return self._image_response(image)

    async def _redirected(self, request: web.Request) -> web.Response:
        """Where the ``redirect`` fault leads: the image itself."""
        self._count(request)
        image = self._lookup(request.match_info["name"])
        if image.fault != "redirect":
            raise web.HTTPNotFound()
        return self._image_response(image)

    async def _planted(self, request: web.Request) -> web.Response:
        """A photo-like picture of ``planted.PlantedSet``, on the first host only."""
        self._count(request)
        data = self.planted.files.get(request.match_info["name"])
        if data is None or not request.host.startswith("127.0.0.1:"):
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="image/jpeg")

    async def _extra(self, request: web.Request) -> web.Response:
        """A file given to the server as it is (the download benchmark's photo-like pictures)."""
        self._count(request)
        name = request.match_info["name"]
        data = self.extra.get(name)
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type=ENCODINGS[name.rsplit(".", 1)[-1]][1])

    async def _page(self, request: web.Request) -> web.Response:
        self._count(request)
        page_id = request.match_info["page_id"]
        if not page_id.isdigit() or int(page_id) >= len(self.catalog.pages):
            raise web.HTTPNotFound()
        page = self.catalog.pages[int(page_id)]
        return web.Response(text=self.catalog.page_html(page, self.base_urls), content_type="text/html")

    async def _fault(self, request: web.Request) -> web.StreamResponse:
        attempt = self._count(request)
        fault = request.match_info["fault"]
        image = self._lookup(request.match_info["name"])
        if image.fault != fault:
            raise web.HTTPNotFound()
        if fault == "not_found":
            raise web.HTTPNotFound()
        if fault == "server_error_then_ok" and attempt == 1:
            raise web.HTTPInternalServerError()
        if fault == "rate_limited_then_ok" and attempt == 1:
            raise web.HTTPTooManyRequests(headers={"Retry-After": "1"})
        if fault == "slow":
            await asyncio.sleep(self.slow_seconds)
        if fault == "truncated":
            return await self._truncated(request, image)
        if fault == "broken_image":
            body = image_bytes(image)
            return web.Response(body=body[: len(body) * 6 // 10], content_type=ENCODINGS[image.extension][1])
        if fault == "wrong_type":
            return web.Response(body=NOT_AN_IMAGE, content_type="image/jpeg")
        if fault == "html":
            return web.Response(body=NOT_AN_IMAGE, content_type="text/html")
        if fault == "redirect":
            raise web.HTTPFound(f"/redirected/{image.name}")
        if fault == "redirect_loop":
            hop = request.query.get("hop", "0")
            raise web.HTTPFound(f"{request.path}?hop={1 - int(hop == '1')}")
        if fault == "noai":
            return self._image_response(image, {"X-Robots-Tag": "noai, noimageai"})
        if fault in HEADER_FAULTS:
            return self._image_response(image, HEADER_FAULTS[fault][2])
        return self._image_response(image)

    async def _truncated(self, request: web.Request, image: ImageEntry) -> web.StreamResponse:
        body = image_bytes(image)
        response = web.StreamResponse(headers={"Content-Type": ENCODINGS[image.extension][1]})
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        assert request.transport is not None
        request.transport.close()  # the client sees the connection drop mid-body
        return response


def _host_number(request: web.Request) -> int:
    """0 for 127.0.0.1, 1 for 127.0.0.2, ..."""
    return int(request.host.split(":")[0].rsplit(".", 1)[-1]) - 1


def _bind_loopback(hosts: int, port: int = 0, attempts: int = 20) -> list[socket.socket]:
    """Listening sockets on 127.0.0.1..127.0.0.N sharing one port (a free one when ``port`` is 0)."""
    for _ in range(attempts if port == 0 else 1):
        sockets: list[socket.socket] = []
        try:
            for k in range(hosts):
                port = sockets[0].getsockname()[1] if sockets else port
                sockets.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                sockets[-1].setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sockets[-1].bind((f"127.0.0.{k + 1}", port))
                sockets[-1].listen(512)
            return sockets
        except OSError:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"could not bind {'one port' if port == 0 else f'port {port}'} on {hosts} loopback addresses")
