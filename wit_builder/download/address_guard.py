"""The downloader's guard against server-side request forgery (SSRF).

A crawl's URLs come from strangers' web pages, so a URL may name a host inside the network the
workers run in (``http://169.254.169.254/`` is a cloud's metadata service, ``http://10.0.0.5/``
an internal service, ``http://localhost:6379/`` a database). By default the downloader refuses:

- schemes other than http and https, and ports outside ``allowed_ports`` (default: 80, 443 and
  the unprivileged ports 1024–65535, since many image hosts serve on 8080 or 8443; well-known
  service ports such as 22 or 25 are refused);
- hosts that are, or resolve to, an address that is not globally routable: private, loopback,
  link-local, shared (100.64/10), reserved, unspecified, documentation ranges, and multicast.

The check runs on every hop of a redirect (the fetcher follows redirects itself), and for host
names it runs inside the connection's own DNS resolution (``GuardedResolver``), so a name that
resolves to a public address when checked and a private one when connecting (DNS rebinding) is
caught as well. ``allow_private_network`` turns the address check off: tests use it against
the loopback server.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

DEFAULT_PORTS = {"http": 80, "https": 443}


class PrivateAddress(OSError):
    """A host that is, or resolves to, an address the downloader must not connect to."""


def is_public_address(address: str) -> bool:
    """Whether ``address`` (an IPv4 or IPv6 literal) is globally routable and not multicast."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip.is_global and not ip.is_multicast


def _ip_literal(host: str) -> str | None:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    return host.strip("[]")


def port_allowed(port: int, allowed_ports: Collection[int] | None) -> bool:
    """``allowed_ports`` None: 80, 443 and 1024–65535."""
    if allowed_ports is None:
        return port in (80, 443) or 1024 <= port <= 65535
    return port in allowed_ports


def url_refusal(url: str, allowed_ports: Collection[int] | None, allow_private_network: bool) -> tuple[str, str] | None:
    """Why ``url`` must not be fetched, as (status, message), or None. Host names are checked
    later, when they resolve (``GuardedResolver``); IP literals are checked here."""
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    except ValueError as error:
        return "blocked_url", f"unparsable URL: {error}"
    if parts.scheme.lower() not in DEFAULT_PORTS:
        return "blocked_url", f"scheme {parts.scheme or '(none)'!r} is not http or https"
    if not parts.hostname:
        return "blocked_url", "no host"
    if not port_allowed(port, allowed_ports):
        return "blocked_url", f"port {port} is not allowed"
    literal = _ip_literal(parts.hostname)
    if literal and not allow_private_network and not is_public_address(literal):
        return "private_address", f"{literal} is not a public address"
    return None


class GuardedResolver(AbstractResolver):
    """DNS resolution that refuses names resolving to any non-public address.

    All of a name's addresses must be public: a name with one public and one private address
    could otherwise be steered to the private one.
    """

    def __init__(self, allow_private_network: bool = False) -> None:
        self._resolver = DefaultResolver()
        self.allow_private_network = allow_private_network

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._resolver.resolve(host, port, family)
        if not self.allow_private_network:
            refused = [r["host"] for r in results if not is_public_address(r["host"])]
            if refused:
                raise PrivateAddress(f"{host} resolves to {', '.join(sorted(set(refused)))}, not a public address")
        return results

    async def close(self) -> None:
        await self._resolver.close()
