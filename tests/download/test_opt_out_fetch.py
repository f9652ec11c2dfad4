"""The opt-out engine against live sites on loopback, one site per signal: every URL's fate, the
rule named, host files fetched once per host, nothing of a refused image requested, robots.txt's
4xx/5xx/huge/redirected cases, Crawl-delay, and each signal switched off by name."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import threading
import time
from collections import Counter

import pytest
from aiohttp import web

from wit_builder.download.fetch import Fetcher, FetchSettings
from wit_builder.download.opt_out import SIGNALS

pytestmark = pytest.mark.network

IMAGE = b"\xff\xd8\xff\xe0 not really a jpeg, the fetcher does not look"
# Each site is one loopback address: robots.txt, tdmrep.json and ai.txt are per host.
SITES: dict[str, dict] = {
    "open": {"robots.txt": "User-agent: *\nAllow: /\n"},
    "disallow_all": {"robots.txt": "User-agent: *\nDisallow: /img/\n"},
    "disallow_us": {"robots.txt": "User-agent: *\nAllow: /\n\nUser-agent: wit-builder\nDisallow: /\n"},
    "robots_404": {},
    "robots_503": {"robots.txt": 503},
    "robots_huge": {"robots.txt": "#" * (600 * 1024) + "\nUser-agent: *\nDisallow: /\n"},
    "robots_redirected": {
        "robots.txt": ("redirect", "/moved/robots.txt"),
        "moved/robots.txt": "User-agent: *\nDisallow: /img\n",
    },
    "tdmrep_file": {".well-known/tdmrep.json": '[{"location": "/img/*", "tdm-reservation": 1}]'},
    "tdm_header": {"headers": {"tdm-reservation": "1"}},
    "content_usage_header": {"headers": {"Content-Usage": "train-ai=n"}},
    "content_usage_robots": {"robots.txt": "User-agent: *\nAllow: /\nContent-Usage: /img/ train-ai=n\n"},
    "ai_txt": {"ai.txt": "User-Agent: *\nDisallow: *.jpg\n"},
    "x_robots_noml": {"headers": {"X-Robots-Tag": "noml"}},
    "x_robots_other": {"headers": {"X-Robots-Tag": "otherbot: noai"}},
    "crawl_delay": {"robots.txt": "User-agent: *\nCrawl-delay: 0.3\n"},
}
HOSTS = {name: f"127.0.0.{10 + k}" for k, name in enumerate(SITES)}
SITE_OF = {address: name for name, address in HOSTS.items()}

# (site, status, the signal named in the error or None)
EXPECTED = [
    ("open", "fetched", None),
    ("disallow_all", "opted_out", "robots.txt http://{host}/robots.txt: Disallow: /img/ (User-agent: *)"),
    ("disallow_us", "opted_out", "Disallow: / (User-agent: wit-builder)"),
    ("robots_404", "fetched", None),
    ("robots_503", "opted_out", "unreachable (HTTP 503): everything disallowed"),
    ("robots_huge", "fetched", None),  # the rules lie past the first 500 KiB: not read
    ("robots_redirected", "opted_out", "Disallow: /img"),
    ("tdmrep_file", "opted_out", "tdmrep.json http://{host}/.well-known/tdmrep.json: /img/* reserved"),
    ("tdm_header", "opted_out", "tdm-reservation header: 1"),
    ("content_usage_header", "opted_out", "Content-Usage header: train-ai=n"),
    ("content_usage_robots", "opted_out", "Content-Usage: /img/ train-ai=n"),
    ("ai_txt", "opted_out", "ai.txt http://{host}/ai.txt: Disallow: *.jpg"),
    ("x_robots_noml", "opted_out", "X-Robots-Tag: noml"),
    ("x_robots_other", "fetched", None),
    ("crawl_delay", "fetched", None),
]

# The signal each refusing site's status row names (``FetchResult.signal``, the status's column).
SIGNAL_OF_SITE = {
    "disallow_all": "robots", "disallow_us": "robots", "robots_503": "robots", "robots_redirected": "robots",
    "tdmrep_file": "tdmrep", "tdm_header": "tdmrep", "content_usage_header": "content-usage",
    "content_usage_robots": "content-usage", "ai_txt": "ai-txt", "x_robots_noml": "x-robots-tag",
}  # fmt: skip


class Sites:
    """The sites, served on one port of several loopback addresses; counts requests per path."""

    def __init__(self):
        self.requests: Counter[tuple[str, str]] = Counter()
        self.times: dict[tuple[str, str], list[float]] = {}
        self.port = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        site = SITES[SITE_OF[request.host.split(":")[0]]]
        path = request.path.lstrip("/")
        key = (request.host.split(":")[0], request.path)
        self.requests[key] += 1
        self.times.setdefault(key, []).append(time.monotonic())
        if path.startswith("img/"):
            return web.Response(body=IMAGE, content_type="image/jpeg", headers=site.get("headers", {}))
        answer = site.get(path)
        if answer is None:
            return web.Response(status=404, text="not here")
        if isinstance(answer, int):
            return web.Response(status=answer, text="unavailable")
        if isinstance(answer, tuple):
            raise web.HTTPFound(answer[1])
        return web.Response(text=answer, content_type="text/plain")

    def url(self, site: str, path: str = "/img/a.jpg") -> str:
        return f"http://{HOSTS[site]}:{self.port}{path}"


@pytest.fixture(scope="module")
def sites():
    served = Sites()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner_box = {}

    async def start():
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", served.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        first = web.TCPSite(runner, HOSTS["open"], 0)
        await first.start()
        served.port = first._server.sockets[0].getsockname()[1]
        for address in list(HOSTS.values())[1:]:
            await web.TCPSite(runner, address, served.port).start()
        runner_box["runner"] = runner

    def serve():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield served
    asyncio.run_coroutine_threadsafe(runner_box["runner"].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)


SETTINGS = FetchSettings(allow_private_network=True, read_timeout=2, retries=1, backoff_base=0.01)


def fetch_all(urls: list[str], settings: FetchSettings = SETTINGS):
    async def run():
        async with Fetcher(settings, random.Random(0)) as fetcher:
            results = await fetcher.fetch_all(urls)
            return results, fetcher.host_files.counts

    return asyncio.run(run())


@pytest.mark.parametrize(("site", "status", "named"), EXPECTED, ids=[case[0] for case in EXPECTED])
def test_every_site_ends_in_its_status_with_the_rule_named(sites, site, status, named):
    [result], _ = fetch_all([sites.url(site)])
    assert result.status == status, result.error
    if named:
        assert named.format(host=f"{HOSTS[site]}:{sites.port}") in result.error
    # the signal and its evidence are data, never read back out of the error
    assert result.signal == SIGNAL_OF_SITE.get(site)
    assert result.evidence == (result.error if status == "opted_out" else None)


def test_host_files_are_fetched_once_per_host_and_refused_images_never_requested(sites):
    before = Counter(sites.requests)
    urls = [sites.url(site, f"/img/{k}.jpg") for site in SITES for k in range(6)]
    results, counts = fetch_all(urls)
    asked = sites.requests - before
    for site, host in HOSTS.items():
        retried = 2 if site == "robots_503" else 1  # a 5xx is retried (retries=1) before it is believed
        assert asked[(host, "/robots.txt")] == retried, site
        assert asked[(host, "/ai.txt")] == asked[(host, "/.well-known/tdmrep.json")] == 1, site
    for site in ("disallow_all", "disallow_us", "robots_503", "robots_redirected", "tdmrep_file", "ai_txt"):
        host = HOSTS[site]
        assert sum(n for (h, path), n in asked.items() if h == host and path.startswith("/img/")) == 0, site
    assert counts["host_file:robots.txt:read"] + counts["host_file:robots.txt:missing"] + counts[
        "host_file:robots.txt:unreachable"
    ] == len(SITES)  # one robots.txt per host, for 6 images each
    assert (
        sum(r.signal == "robots" for r in results) == 6 * 4
    )  # disallow_all, disallow_us, robots_503, robots_redirected
    assert sum(1 for r in results if r.status == "opted_out") == 6 * sum(
        1 for case in EXPECTED if case[1] == "opted_out"
    )


def test_crawl_delay_spaces_the_requests_to_a_host(sites):
    urls = [sites.url("crawl_delay", f"/img/paced-{k}.jpg") for k in range(4)]
    results, counts = fetch_all(urls)
    assert all(r.status == "fetched" for r in results)
    host = HOSTS["crawl_delay"]
    times = sorted(t for (h, path), ts in sites.times.items() if h == host and "/paced-" in path for t in ts)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 4 and min(gaps) >= 0.27, gaps
    assert counts["crawl_delay_waits"] == 3


def test_the_refusing_directives_are_configurable(sites):
    from wit_builder.download.opt_out import directive_list

    only_noai = dataclasses.replace(SETTINGS, disallowed_directives=directive_list("NoAI, noimageai"))
    results, _ = fetch_all([sites.url("x_robots_noml", "/img/d.jpg")], only_noai)
    assert results[0].status == "fetched"  # noml is no longer a refusal
    with pytest.raises(ValueError, match="to honour none"):
        directive_list(" , ")
    assert directive_list("noai,NOAI,noml") == ("noai", "noml")


@pytest.mark.parametrize("signal", [s for s in SIGNALS if s != "meta"])  # meta: tests/download/test_pipeline.py
def test_each_signal_can_be_switched_off_by_name(sites, signal):
    off = dataclasses.replace(SETTINGS, ignore_opt_out=frozenset({signal}))
    refused_by = {
        "robots": ["disallow_all", "disallow_us", "robots_503", "robots_redirected"],
        "x-robots-tag": ["x_robots_noml"],
        "tdmrep": ["tdmrep_file", "tdm_header"],
        "content-usage": ["content_usage_header", "content_usage_robots"],
        "ai-txt": ["ai_txt"],
    }[signal]
    results, _ = fetch_all([sites.url(site, "/img/switched.jpg") for site in refused_by], off)
    assert [r.status for r in results] == ["fetched"] * len(refused_by), [r.error for r in results]
