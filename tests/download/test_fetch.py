"""The fetcher against the synthetic web: every scripted fault ends in its status, and the
SSRF guard holds on the first hop and after redirects."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import time

import pytest
from aiohttp import web

from wit_builder.download import address_guard
from wit_builder.download.fetch import Fetcher, FetchSettings, backoff_delay, retry_after_seconds
from wit_builder.download.opt_out import x_robots_tag_refusal

pytestmark = pytest.mark.network

# Time limits far above a loopback fetch on a busy machine: only the slow fault, with limits of
# its own, is meant to time out.
LOOPBACK = FetchSettings(allow_private_network=True, read_timeout=10.0, backoff_base=0.05, retries=2)


@pytest.fixture(scope="module")
def web_server(small_world):
    """A server of its own: faults that fail once per URL start fresh here."""
    with small_world.serve(slow_seconds=1.5) as server:
        yield server


def url_with(world, server, fault: str) -> str:
    image = next(i for i in world.catalog.images if i.fault == fault and i.size_class == "normal")
    return image.url(server.base_urls)


def fetch(url: str, settings: FetchSettings = LOOPBACK):
    async def run():
        async with Fetcher(settings, random.Random(0)) as fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("fault", "status", "http_status", "attempts"),
    [
        (None, "fetched", 200, 1),
        ("not_found", "http_error", 404, 1),  # a 404 is final: no retry
        ("server_error_then_ok", "fetched", 200, 2),
        ("truncated", "http_error", None, 3),  # retried, truncated every time
        ("broken_image", "fetched", 200, 1),  # the HTTP side is fine; decoding is the next step's
        ("wrong_type", "fetched", 200, 1),
        ("html", "fetched", 200, 1),
        ("redirect", "fetched", 200, 1),
        ("redirect_loop", "http_error", 302, 1),
        ("noai", "opted_out", 200, 1),
    ],
)
def test_each_fault_ends_in_its_status(small_world, web_server, fault, status, http_status, attempts):
    if fault is None:
        url = next(i for i in small_world.catalog.images if i.fault is None).url(web_server.base_urls)
    else:
        url = url_with(small_world, web_server, fault)
    result = fetch(url)
    assert (result.status, result.attempts) == (status, attempts), result.error
    if http_status is not None:
        assert result.http_status == http_status
    if status == "fetched":
        assert result.body
    if fault == "redirect":
        assert result.final_url != url and "/redirected/" in result.final_url
    if fault == "redirect_loop":
        assert "more than 5 redirects" in result.error
    if fault == "noai":
        assert result.error in ("X-Robots-Tag: noai", "X-Robots-Tag: noimageai") and result.body is None
    if fault == "truncated":
        assert "body truncated" in result.error


def test_rate_limit_waits_out_retry_after(small_world, web_server):
    started = time.monotonic()
    result = fetch(url_with(small_world, web_server, "rate_limited_then_ok"))
    assert (result.status, result.attempts) == ("fetched", 2)
    assert time.monotonic() - started >= 1.0  # the server said Retry-After: 1


def test_slow_server_times_out_after_retries(small_world, web_server):
    result = fetch(
        url_with(small_world, web_server, "slow"),
        FetchSettings(allow_private_network=True, read_timeout=0.2, retries=1, backoff_base=0.01),
    )
    assert (result.status, result.attempts) == ("timeout", 2)


def test_too_large_is_refused(small_world, web_server):
    url = next(i for i in small_world.catalog.images if i.fault is None).url(web_server.base_urls)
    result = fetch(url, FetchSettings(allow_private_network=True, max_bytes=100))
    assert result.status == "too_large" and "100" in result.error and result.body is None


def test_private_addresses_are_refused_by_default(web_server):
    url = web_server.base_urls[0] + "/img/0.jpg"
    result = fetch(url, FetchSettings())
    assert result.status == "private_address" and "127.0.0.1" in result.error
    by_name = fetch(url.replace("127.0.0.1", "localhost"), FetchSettings())
    assert by_name.status == "private_address" and "resolves to" in by_name.error


def test_a_redirect_to_loopback_is_refused(monkeypatch, small_world, web_server):
    """A host counted as public redirects to 127.0.0.1: the second hop must be refused."""
    target = next(i for i in small_world.catalog.images if i.fault is None).url(web_server.base_urls)

    async def run():
        app = web.Application()

        async def to_loopback(_request):
            raise web.HTTPFound(target)

        app.router.add_get("/r", to_loopback)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.2", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            async with Fetcher(FetchSettings()) as fetcher:
                return await fetcher.fetch(f"http://127.0.0.2:{port}/r")
        finally:
            await runner.cleanup()

    real = address_guard.is_public_address
    monkeypatch.setattr(address_guard, "is_public_address", lambda a: a == "127.0.0.2" or real(a))
    result = asyncio.run(run())
    assert result.status == "private_address" and result.final_url == target


def test_refused_connection_is_a_connection_error():
    settings = FetchSettings(allow_private_network=True, allowed_ports=frozenset({9}), retries=1, backoff_base=0.01)
    ignoring_robots = dataclasses.replace(settings, ignore_opt_out=frozenset({"robots", "content-usage"}))
    result = fetch("http://127.0.0.1:9/a.jpg", ignoring_robots)
    assert (result.status, result.attempts) == ("connection_error", 2)
    # With robots.txt honoured, the host's robots.txt got no answer (twice): the host is not crawled.
    result = fetch("http://127.0.0.1:9/a.jpg", settings)
    assert (
        result.status == "connection_error" and "robots.txt http://127.0.0.1:9/robots.txt unreachable" in result.error
    )


def test_blocked_schemes_and_ports():
    assert fetch("ftp://127.0.0.1/a.jpg").status == "blocked_url"
    assert fetch("http://127.0.0.1:22/a.jpg").status == "blocked_url"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["noai"], "noai"),
        (["noindex, nofollow"], "noindex"),
        (["NoImageAI"], "noimageai"),
        (["otherbot: noindex"], None),  # addressed to another crawler
        (["wit-builder: none"], "none"),  # addressed to us
        (["unavailable_after: 25 Jun 2030 15:00:00 PST"], None),
        (["nofollow", "noarchive"], None),
        ([], None),
    ],
)
def test_opt_out_directives(values, expected):
    refusal = x_robots_tag_refusal(values, "wit-builder/0.1", ("noai", "noimageai", "noindex", "none"))
    assert (refusal.rule if refusal else None) == expected


def test_retry_after_and_backoff():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    settings = FetchSettings(backoff_base=1.0, backoff_max=8.0)
    rng = random.Random(0)
    delays = [backoff_delay(attempt, settings, None, rng) for attempt in range(6)]
    assert all(0.5 * min(8, 2**a) <= d <= 1.5 * min(8, 2**a) for a, d in enumerate(delays))
    assert backoff_delay(0, settings, 5.0, rng) >= 5.0


def test_bodies_in_hand_are_bounded_and_every_slot_comes_back(small_world, web_server):
    """With the image work slower than the network, at most 2 × concurrency bodies are held at
    once; failures (a 404, a refused port) give their slots back, so all end and none leak.

    No timing is assumed: the image work of the first bodies waits until every slot is taken
    (or, were the slots broken, until a generous deadline), so "the slots fill, and no more"
    holds on a machine of any speed; the time limits are a minute, far above any loopback fetch."""
    ok = [i.url(web_server.base_urls) for i in small_world.catalog.images if i.fault is None][:40]
    missing = url_with(small_world, web_server, "not_found")
    urls = [*ok, missing, "http://127.0.0.1:1/refused.jpg"] * 2
    settings = dataclasses.replace(
        LOOPBACK, concurrency=3, retries=0, connect_timeout=60.0, read_timeout=60.0, total_timeout=120.0
    )
    slots = 2 * settings.concurrency
    in_hand, most = 0, 0

    async def one(fetcher: Fetcher, url: str, full: asyncio.Event) -> str:
        nonlocal in_hand, most
        async with fetcher.fetching(url) as result:
            if result.status == "fetched":
                in_hand += 1
                most = max(most, in_hand)
                if in_hand >= slots:
                    full.set()
                with contextlib.suppress(TimeoutError):  # the image work: held until the slots are full
                    await asyncio.wait_for(full.wait(), timeout=60)
                in_hand -= 1
            return result.status

    async def run():
        full = asyncio.Event()
        async with Fetcher(settings, random.Random(0)) as fetcher:
            statuses = await asyncio.gather(*(one(fetcher, url, full) for url in urls))
            return statuses, fetcher._body_slots._value

    statuses, free = asyncio.run(run())
    assert statuses.count("fetched") == 80 and statuses.count("http_error") == 2
    assert most == slots  # the slots, not the connections (3), bound what is held
    assert free == slots
