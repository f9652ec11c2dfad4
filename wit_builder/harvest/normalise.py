"""The rules a raw (url, text) pair must pass before matching, as pure functions.

Text: HTML entities decoded (``&amp;`` → ``&``, twice-escaped ``&amp;amp;`` once more), Unicode
NFC, every run of whitespace (newlines and tabs included) collapsed to one space, trimmed; then
too short or too long texts are dropped (lengths in characters, after normalisation).

URLs: resolved against the page URL and ``<base href>`` when relative (``../img/a.jpg``,
``//host/a.jpg``, ``/a.jpg``); only ``http`` and ``https`` are kept (``data:``, ``ftp:``,
``javascript:`` and unresolvable relative URLs are dropped). The form used for dedupe and the
``uid`` lower-cases scheme and host, drops a default port (``:80``, ``:443``) and the fragment,
and writes an empty path as ``/``; the query string is kept as it is (it often names the image).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

from wit_builder.text.tokens import normalise as nfc

_WHITESPACE = re.compile(r"\s+")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class TextRules:
    min_chars: int = 5
    max_chars: int = 1000


def normalise_text(raw: str) -> str:
    """Entities decoded, NFC, whitespace collapsed, trimmed."""
    text = html.unescape(raw)
    if "&" in text and text != raw:  # "&amp;amp;" was escaped twice: decode once more
        text = html.unescape(text)
    return _WHITESPACE.sub(" ", nfc(text)).strip()


def text_rejection(text: str, rules: TextRules) -> str | None:
    """Why a normalised text is dropped (a stats reason), or None when it is kept."""
    if not text:
        return "empty_text"
    if len(text) < rules.min_chars:
        return "text_too_short"
    if len(text) > rules.max_chars:
        return "text_too_long"
    return None


def resolve_url(raw: str, page_url: str | None = None, base_href: str | None = None) -> str:
    """``raw`` made absolute against ``<base href>`` (itself relative to the page) or the page."""
    raw = raw.strip()
    base = page_url
    if base_href:
        base = urljoin(page_url, base_href.strip()) if page_url else base_href.strip()
    return urljoin(base, raw) if base else raw


def normalise_url(url: str) -> str | None:
    """The canonical form of an absolute http(s) URL, or None for any other URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # an unparsable host or port
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username or parts.password:
        return None  # credentials in an image URL are refused rather than stored
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def url_uid(normalised_url: str) -> str:
    """A stable 128-bit hex id of a normalised URL (the pair's ``uid``)."""
    return hashlib.blake2b(normalised_url.encode("utf-8"), digest_size=16).hexdigest()


def has_image_extension(url: str, extensions: frozenset[str]) -> bool:
    """Whether the URL's path ends in one of ``extensions`` (lower-case, without dots)."""
    path = urlsplit(url).path.lower()
    return "." in path.rsplit("/", 1)[-1] and path.rsplit(".", 1)[-1] in extensions
