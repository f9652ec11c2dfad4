"""The host-level opt-out files (robots.txt, tdmrep.json, ai.txt), fetched at most once per
scheme, host and port per worker, and the pause robots.txt's ``Crawl-delay`` asks for.

``HostFiles.policy(url)`` gives the ``HostPolicy`` of the URL's origin. The first URL of an
origin starts its fetch; every other URL of that origin, arriving meanwhile, waits for the same
fetch (one request per file, however many images the host has). Only the files of honoured
signals are fetched. Each file is read up to ``opt_out.HOST_FILE_LIMIT`` bytes, through the
same client and address guard as the images, following redirects. How each fetch ended
(``read``, ``missing``, ``unreachable``) and the time spent are counted for ``stats.json``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from wit_builder.clock import stamp
from wit_builder.download.opt_out import AiTxtFile, Refusal, RobotsFile, TdmRepFile


@dataclass
class HostFile:
    """One fetched host file: its HTTP status (None when no response came), its text, and what
    went wrong."""

    url: str
    http_status: int | None
    text: str = ""
    error: str = ""
    guarded: bool = False  # refused by our own address guard: the image request will be refused too
    sha256: str | None = None  # of the bytes read (at most ``HOST_FILE_LIMIT``), when a 2xx came


Fetch = Callable[[str], Awaitable[HostFile]]


@dataclass(frozen=True)
class ConsentFile:
    """A host file as it was when it decided a URL's consent: the provenance a sample keeps, so
    that ``recheck`` and an auditor compare like with like. ``sha256`` is of the bytes read (at
    most ``opt_out.HOST_FILE_LIMIT``), None when there were none (missing, unreachable)."""

    file: str  # robots.txt, tdmrep.json, ai.txt
    url: str
    outcome: str  # read, missing, unreachable
    http_status: int | None
    sha256: str | None
    fetched_at: str

    def as_dict(self) -> dict:
        return {"file": self.file, "url": self.url, "outcome": self.outcome, "http_status": self.http_status,
                "sha256": self.sha256, "fetched_at": self.fetched_at}  # fmt: skip


@dataclass
class HostPolicy:
    """What an origin's files say; None for a file whose signal is not honoured."""

    robots: RobotsFile | None = None
    tdmrep: TdmRepFile | None = None
    ai_txt: AiTxtFile | None = None
    content_usage_in_robots: bool = False
    no_response: str | None = None  # robots.txt got no answer at all: the host is not crawled
    files: tuple[ConsentFile, ...] = ()  # the files read for this origin, as they were

    def refusal(self, url: str) -> Refusal | None:
        """The first signal refusing ``url``: robots.txt, its Content-Usage lines, tdmrep.json,
        ai.txt."""
        robots = self.robots
        if robots is not None and (refusal := robots.refusal(url)):
            return refusal
        if robots is not None and self.content_usage_in_robots and (refusal := robots.usage_refusal(url)):
            return refusal
        for file in (self.tdmrep, self.ai_txt):
            if file is not None and (refusal := file.refusal(url)):
                return refusal
        return None

    def crawl_delay(self) -> float:
        return (self.robots.crawl_delay() if self.robots is not None else None) or 0.0


def origin_of(url: str) -> str:
    """``scheme://host:port``, the unit robots.txt applies to."""
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class HostFiles:
    """Host policies by origin, each fetched once; ``counts`` for stats.json."""

    def __init__(
        self,
        fetch: Fetch,
        user_agent: str,
        honours: Callable[[str], bool],
        max_crawl_delay: float,
        min_interval: float = 0.0,
    ):
        self._fetch = fetch
        self.user_agent = user_agent
        self.honours = honours
        self.max_crawl_delay = max_crawl_delay
        self.min_interval = min_interval  # least seconds between requests to one origin, whatever robots.txt says
        self._policies: dict[str, asyncio.Task] = {}
        self._next_request: dict[str, float] = {}
        self._pacing: dict[str, asyncio.Lock] = {}
        self.counts: Counter[str] = Counter()

    @property
    def needed(self) -> bool:
        """Whether any host file is read at all."""
        return any(self.honours(signal) for signal in ("robots", "content-usage", "tdmrep", "ai-txt"))

    async def policy(self, url: str) -> HostPolicy:
        origin = origin_of(url)
        task = self._policies.get(origin)
        if task is None:
            task = asyncio.ensure_future(self._read_policy(_root(url)))
            self._policies[origin] = task
        return await task

    async def _read_policy(self, root: str) -> HostPolicy:
        policy = HostPolicy(content_usage_in_robots=self.honours("content-usage"))
        wanted = []
        if self.honours("robots") or self.honours("content-usage"):
            wanted.append(("robots.txt", f"{root}/robots.txt"))
        if self.honours("tdmrep"):
            wanted.append(("tdmrep.json", f"{root}/.well-known/tdmrep.json"))
        if self.honours("ai-txt"):
            wanted.append(("ai.txt", f"{root}/ai.txt"))
        started = time.monotonic()
        fetched = await asyncio.gather(*(self._fetch(url) for _, url in wanted))
        self.counts["host_files_ms"] += round(1000 * (time.monotonic() - started))
        fetched_at = stamp()
        records = []
        for (name, _), file in zip(wanted, fetched, strict=True):
            outcome = _outcome(file)
            self.counts[f"host_file:{name}:{outcome}"] += 1
            if outcome == "guarded":
                continue  # the URL itself will end as private_address or blocked_url
            digest = file.sha256 if outcome == "read" else None
            records.append(ConsentFile(name, file.url, outcome, file.http_status, digest, fetched_at))
            if name == "robots.txt":
                if outcome == "unreachable" and file.http_status is None:
                    policy.no_response = f"robots.txt {file.url} unreachable ({file.error}): the host is not crawled"
                if outcome == "read":
                    policy.robots = RobotsFile.parse(file.url, file.text, self.user_agent)
                else:
                    reason = file.error or f"HTTP {file.http_status}"
                    policy.robots = RobotsFile.unavailable(file.url, self.user_agent, outcome, reason)
                if not self.honours("robots"):  # read for its Content-Usage lines only
                    policy.robots = _usage_only(policy.robots)
            elif outcome == "read" and name == "tdmrep.json":
                policy.tdmrep = TdmRepFile.parse(file.url, file.text)
            elif outcome == "read" and name == "ai.txt":
                policy.ai_txt = AiTxtFile.parse(file.url, file.text, self.user_agent)
        policy.files = tuple(records)
        return policy

    def policies(self) -> dict[str, HostPolicy]:
        """Every origin's policy read so far, by origin (``origin_of``)."""
        return {origin: task.result() for origin, task in self._policies.items() if task.done()}

    async def pace(self, url: str, policy: HostPolicy) -> None:
        """Wait until the origin's Crawl-delay (or ``min_interval``, when longer) since our last
        request to it has passed."""
        delay = min(policy.crawl_delay(), self.max_crawl_delay) if self.honours("robots") else 0.0
        delay = max(delay, self.min_interval)
        if delay <= 0:
            return
        origin = origin_of(url)
        lock = self._pacing.setdefault(origin, asyncio.Lock())
        async with lock:
            now = time.monotonic()
            wait = self._next_request.get(origin, now) - now
            if wait > 0:
                self.counts["crawl_delay_waits"] += 1
                await asyncio.sleep(wait)
            self._next_request[origin] = max(now, now + wait) + delay


def _outcome(file: HostFile) -> str:
    """``read`` (a 2xx), ``missing`` (a 4xx), ``unreachable`` (a 5xx, or no response), or
    ``guarded`` (our address guard refused it)."""
    if file.guarded:
        return "guarded"
    if file.http_status is not None and 200 <= file.http_status < 300:
        return "read"
    if file.http_status is not None and 400 <= file.http_status < 500:
        return "missing"
    return "unreachable"


class _UsageOnly(RobotsFile):
    """robots.txt read for its Content-Usage lines while its Allow/Disallow rules are ignored."""

    def refusal(self, url: str) -> Refusal | None:
        return None

    def crawl_delay(self) -> float | None:
        return None


def _usage_only(robots: RobotsFile) -> RobotsFile:
    usage_only = _UsageOnly(robots.url, robots.token, robots.status, robots.reason)
    usage_only._usage = robots._usage
    return usage_only
