"""Fetch image URLs politely, safely and with every failure named: asyncio + aiohttp.

One ``Fetcher`` holds one client session (a connection pool with a total and a per-host limit)
and is meant to live as long as a Beam worker (opened in ``DoFn.setup``). ``fetch(url)``
always returns a ``FetchResult``; it never raises for anything a server or the network does.

- **Timeouts**: connect, read (between bytes) and total per attempt.
- **Retries** with exponential backoff and jitter, for timeouts, connection errors, truncated
  bodies, 429 and 5xx; a ``Retry-After`` (seconds or an HTTP date) is waited out when it is at
  most ``backoff_max``, and otherwise ends the URL as ``http_error``.
- **Redirects** are followed by hand, at most ``max_redirects``, so each hop passes the SSRF
  guard (``address_guard``) and a loop ends as ``http_error``.
- **Size**: a ``Content-Length`` over ``max_bytes`` is refused before reading; a body that
  grows past it while streaming is cut off (``too_large``).
- **Opt-out** (``opt_out``): before a URL, and each redirect hop, is requested, its host's
  robots.txt, tdmrep.json and ai.txt (``host_files``, fetched once per host) may refuse it; the
  response's ``X-Robots-Tag``, ``tdm-reservation`` and ``Content-Usage`` headers may refuse it
  before its body is read. A refused URL ends as ``opted_out``, its error naming the signal and
  the rule, and nothing of its body is read. ``Crawl-delay`` paces the requests to its host.
- **Memory**: ``async with fetcher.fetching(url) as result`` holds one of ``2 × concurrency``
  body slots from just before its request (after any Crawl-delay pause, so a slow host's queue
  holds none) until the block ends, so that when the network outpaces the image work, requests
  wait instead of bodies piling up; an attempt that fails gives its slot back before a retry's
  backoff.

Statuses: ``fetched`` (the body is there; the image checks come next), ``http_error``,
``timeout``, ``too_large``, ``opted_out``, ``private_address``, ``blocked_url`` (scheme or port
not allowed) and ``connection_error`` (refused, reset, unknown host).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

import aiohttp

from wit_builder.clock import stamp
from wit_builder.download.address_guard import GuardedResolver, PrivateAddress, url_refusal
from wit_builder.download.host_files import HostFile, HostFiles
from wit_builder.download.opt_out import (
    HOST_FILE_LIMIT,
    Refusal,
    content_usage_refusal,
    tdm_header_refusal,
    x_robots_tag_refusal,
)
from wit_builder.download.settings import FetchSettings

REDIRECTS = (301, 302, 303, 307, 308)
RETRYABLE_HTTP = (429, 500, 502, 503, 504)


@dataclass
class FetchResult:
    url: str
    status: str
    http_status: int | None = None
    body: bytes | None = None
    final_url: str | None = None
    error: str | None = None
    attempts: int = 0
    signal: str | None = None  # opted_out: the signal that refused the URL (``opt_out.SIGNALS``)
    evidence: str | None = None  # opted_out: where it was found and its rule (``Refusal.evidence``)
    fetched_at: str | None = None  # fetched: when (``clock.stamp``)
    consent: tuple = ()  # fetched: the host files (``ConsentFile``) of every origin on its way


@dataclass
class _Attempt:
    result: FetchResult
    retryable: bool = False
    retry_after: float | None = None


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: a number, or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int, settings: FetchSettings, retry_after: float | None, rng: random.Random) -> float:
    """Exponential backoff with ±50% jitter, and never less than the server's Retry-After."""
    delay = min(settings.backoff_max, settings.backoff_base * 2**attempt) * rng.uniform(0.5, 1.5)
    return max(delay, retry_after or 0.0)


class Fetcher:
    """``async with Fetcher(settings) as fetcher: result = await fetcher.fetch(url)``."""

    def __init__(self, settings: FetchSettings | None = None, rng: random.Random | None = None):
        self.settings = settings or FetchSettings()
        self.rng = rng or random.Random()
        self._session: aiohttp.ClientSession | None = None
        self._body_slots: asyncio.Semaphore | None = None
        s = self.settings
        self.host_files = HostFiles(self._host_file, s.user_agent, s.honours, s.max_crawl_delay)

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        connector = aiohttp.TCPConnector(
            limit=s.concurrency,
            limit_per_host=s.per_host,
            resolver=GuardedResolver(s.allow_private_network),
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=s.total_timeout, sock_connect=s.connect_timeout, sock_read=s.read_timeout
            ),
            headers={"User-Agent": s.user_agent, "Accept": "image/*,*/*;q=0.5"},
            auto_decompress=True,
        )
        self._body_slots = asyncio.Semaphore(2 * s.concurrency)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch_all(self, urls: Sequence[str]) -> list[FetchResult]:
        """Every URL fetched concurrently (the connector's limits bound the concurrency)."""
        return list(await asyncio.gather(*(self.fetch(url) for url in urls)))

    @contextlib.asynccontextmanager
    async def fetching(self, url: str) -> AsyncIterator[FetchResult]:
        """``fetch(url)``, holding a body slot (see the module's docstring) while the block
        works on the body; the slot is given back when the block ends, however it ends."""
        slot: list[bool] = []
        try:
            yield await self.fetch(url, slot)
        finally:
            if slot:
                self._release(slot)

    async def fetch(self, url: str, slot: list[bool] | None = None) -> FetchResult:
        """The URL fetched, retried and checked; with ``slot`` (``fetching``), holding a body
        slot from the first request on, which a failed attempt gives back before its backoff
        and a fetched body keeps for the caller."""
        attempt = 0
        while True:
            outcome = await self._attempt(url, slot)
            outcome.result.attempts = attempt + 1
            if slot and outcome.result.status != "fetched":
                self._release(slot)
            too_long = outcome.retry_after is not None and outcome.retry_after > self.settings.backoff_max
            if not outcome.retryable or attempt >= self.settings.retries or too_long:
                if too_long:
                    outcome.result.error = f"{outcome.result.error}; Retry-After {outcome.retry_after:.0f}s is too long"
                return outcome.result
            await asyncio.sleep(backoff_delay(attempt, self.settings, outcome.retry_after, self.rng))
            attempt += 1

    def _release(self, slot: list[bool]) -> None:
        assert self._body_slots is not None
        slot.clear()
        self._body_slots.release()

    async def _attempt(self, url: str, slot: list[bool] | None) -> _Attempt:
        assert self._session is not None, "use Fetcher as an async context manager"
        s = self.settings
        current = url
        redirect_status: int | None = None
        consulted: list = []
        for _ in range(s.max_redirects + 1):
            refusal = url_refusal(current, s.allowed_ports, s.allow_private_network)
            if refusal:
                return _Attempt(FetchResult(url, refusal[0], final_url=current, error=refusal[1]))
            if self.host_files.needed:
                policy = await self.host_files.policy(current)
                consulted.extend(policy.files)
                if policy.no_response and s.honours("robots"):  # RFC 9309: complete disallow
                    return _Attempt(FetchResult(url, "connection_error", final_url=current, error=policy.no_response))
                if opted := policy.refusal(current):
                    return _Attempt(self._opted_out(url, current, None, opted))
                await self.host_files.pace(current, policy)
            if slot is not None and not slot:
                assert self._body_slots is not None, "use Fetcher as an async context manager"
                await self._body_slots.acquire()
                slot.append(True)
            try:
                async with self._session.get(current, allow_redirects=False) as response:
                    if response.status in REDIRECTS:
                        location = response.headers.get("Location")
                        if not location:
                            return _Attempt(self._http_error(url, current, response, "redirect without Location"))
                        current = urljoin(str(response.url), location)
                        redirect_status = response.status
                        continue
                    read = await self._read(url, current, response)
                    if read.result.status == "fetched":
                        result = read.result
                        result.fetched_at = stamp()
                        result.consent = tuple(dict.fromkeys(consulted))
                    return read
            except aiohttp.ClientConnectorError as error:
                cause = error.__cause__ or getattr(error, "os_error", None)
                if isinstance(cause, PrivateAddress):
                    return _Attempt(FetchResult(url, "private_address", final_url=current, error=str(cause)))
                return _Attempt(self._failure(url, current, "connection_error", error), retryable=True)
            except (TimeoutError, aiohttp.ServerTimeoutError) as error:
                return _Attempt(self._failure(url, current, "timeout", error), retryable=True)
            except aiohttp.ClientPayloadError as error:
                return _Attempt(self._failure(url, current, "http_error", error, "body truncated"), retryable=True)
            except aiohttp.ClientError as error:
                return _Attempt(self._failure(url, current, "connection_error", error), retryable=True)
        return _Attempt(
            FetchResult(
                url, "http_error", redirect_status, final_url=current, error=f"more than {s.max_redirects} redirects"
            )
        )

    async def _read(self, url: str, current: str, response: aiohttp.ClientResponse) -> _Attempt:
        s = self.settings
        if response.status in RETRYABLE_HTTP:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            return _Attempt(self._http_error(url, current, response), retryable=True, retry_after=retry_after)
        if not 200 <= response.status < 300:
            return _Attempt(self._http_error(url, current, response))
        if opted := self._header_refusal(response):
            return _Attempt(self._opted_out(url, current, response.status, opted))
        if response.content_length is not None and response.content_length > s.max_bytes:
            error = f"Content-Length {response.content_length:,} > {s.max_bytes:,} bytes"
            return _Attempt(FetchResult(url, "too_large", response.status, final_url=current, error=error))
        if response.content_length is not None:  # the common case: read whole, at no cost per chunk
            try:
                body = await response.content.readexactly(response.content_length)
            except asyncio.IncompleteReadError as error:
                raise aiohttp.ClientPayloadError(f"{len(error.partial):,} of {error.expected:,} bytes") from None
            return _Attempt(FetchResult(url, "fetched", response.status, body, final_url=current))
        body = bytearray()
        async for chunk in response.content.iter_chunked(65_536):
            body += chunk
            if len(body) > s.max_bytes:
                error = f"body passed {s.max_bytes:,} bytes"
                return _Attempt(FetchResult(url, "too_large", response.status, final_url=current, error=error))
        return _Attempt(FetchResult(url, "fetched", response.status, bytes(body), final_url=current))

    def _header_refusal(self, response: aiohttp.ClientResponse) -> Refusal | None:
        """The first response header of an honoured signal that refuses the URL."""
        s, headers = self.settings, response.headers
        refusal = None
        if s.honours("x-robots-tag"):
            refusal = x_robots_tag_refusal(headers.getall("X-Robots-Tag", []), s.user_agent, s.disallowed_directives)
        if refusal is None and s.honours("tdmrep"):
            refusal = tdm_header_refusal(headers.get("tdm-reservation"))
        if refusal is None and s.honours("content-usage"):
            refusal = content_usage_refusal(headers.get("Content-Usage"))
        return refusal

    def _opted_out(self, url: str, current: str, http_status: int | None, refusal: Refusal) -> FetchResult:
        return FetchResult(
            url, "opted_out", http_status, final_url=current, error=str(refusal),
            signal=refusal.signal, evidence=refusal.evidence,
        )  # fmt: skip

    async def _host_file(self, url: str) -> HostFile:
        """A host file, read up to ``HOST_FILE_LIMIT`` bytes, following redirects through the
        address guard, retried as an image is when no answer or a 5xx came; never raises."""
        for attempt in range(self.settings.retries + 1):
            file = await self._host_file_once(url)
            transient = not file.guarded and (file.http_status is None or file.http_status >= 500)
            if not transient or attempt == self.settings.retries:
                return file
            await asyncio.sleep(backoff_delay(attempt, self.settings, None, self.rng))
        return file

    async def _host_file_once(self, url: str) -> HostFile:
        assert self._session is not None, "use Fetcher as an async context manager"
        s = self.settings
        current = url
        for _ in range(s.max_redirects + 1):
            refusal = url_refusal(current, s.allowed_ports, s.allow_private_network)
            if refusal:
                return HostFile(current, None, error=refusal[1], guarded=True)
            try:
                async with self._session.get(current, allow_redirects=False) as response:
                    if response.status in REDIRECTS and response.headers.get("Location"):
                        current = urljoin(str(response.url), response.headers["Location"])
                        continue
                    body = bytearray()
                    if 200 <= response.status < 300:
                        async for chunk in response.content.iter_chunked(65_536):
                            body += chunk
                            if len(body) >= HOST_FILE_LIMIT:
                                break
                    read = bytes(body[:HOST_FILE_LIMIT])
                    digest = hashlib.sha256(read).hexdigest() if 200 <= response.status < 300 else None
                    return HostFile(current, response.status, read.decode("utf-8", "replace"), sha256=digest)
            except aiohttp.ClientConnectorError as error:
                cause = error.__cause__ or getattr(error, "os_error", None)
                return HostFile(current, None, error=str(cause or error), guarded=isinstance(cause, PrivateAddress))
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                return HostFile(current, None, error=f"{type(error).__name__}: {error}".rstrip(": "))
        return HostFile(current, None, error=f"more than {s.max_redirects} redirects")

    @staticmethod
    def _http_error(url: str, current: str, response: aiohttp.ClientResponse, error: str | None = None) -> FetchResult:
        message = error or f"{response.status} {response.reason or ''}".strip()
        return FetchResult(url, "http_error", response.status, final_url=current, error=message)

    @staticmethod
    def _failure(url: str, current: str, status: str, error: BaseException, what: str | None = None) -> FetchResult:
        detail = str(error) or type(error).__name__
        return FetchResult(url, status, final_url=current, error=f"{what}: {detail}" if what else detail)
