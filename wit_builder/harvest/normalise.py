"""The rules a raw (url, text) pair must pass before matching, as pure functions.

Text: HTML entities decoded (``&amp;`` → ``&``, twice-escaped ``&amp;amp;`` once more), HTML
tags removed (``<br />``, ``<i>``, ``<b>``, ``<em>``: about one caption in 200 of a real list
carries them, and unstripped, ``br`` and ``em`` were matched as queries), Unicode NFC, every
run of whitespace (newlines and tabs included) collapsed to one space, trimmed; then too short
or too long texts are dropped (lengths in characters, after normalisation). Only the names of
HTML elements are tags: ``<3``, ``a < b > c`` and ``<Stereo Headphones>`` stay as they are.
A text, URL or page URL that is not valid Unicode (a lone surrogate from a JSON ``\ud800``
escape) cannot be stored or hashed, and its pair is dropped as ``not_unicode``.

URLs: resolved against the page URL and ``<base href>`` when relative (``../img/a.jpg``,
``//host/a.jpg``, ``/a.jpg``); only ``http`` and ``https`` are kept (``data:``, ``ftp:``,
``javascript:``, unresolvable relative URLs, URLs with no host such as ``http:///a.jpg`` and URLs
urllib cannot parse are dropped). The form used for dedupe and the
``uid`` lower-cases scheme and host, drops a default port (``:80``, ``:443``) and the fragment,
and writes an empty path as ``/``; the query string is kept as it is (it often names the image).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from wit_builder.stage_settings import Settings, option
from wit_builder.text.tokens import normalise as nfc

_WHITESPACE = re.compile(r"\s+")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Elements that sit inside a line (removed with nothing in their place: "<b>Bold</b>er" is one
# word) and those that break it (a space in their place: "Angels<br />F/A-18" is two).
_INLINE_TAGS = (
    "a abbr b bdi bdo big cite code del dfn em font i ins kbd mark nobr q s samp small span strike strong sub "
    "sup tt u var wbr"
)
_BREAKING_TAGS = (
    "address article aside blockquote br caption center dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr img li main nav ol p pre section table tbody td tfoot th thead tr ul"
)


def _tag_pattern(names: str) -> re.Pattern:
    return re.compile(rf"<\s*/?\s*(?:{'|'.join(names.split())})\b[^<>]*>", re.IGNORECASE)


_INLINE = _tag_pattern(_INLINE_TAGS)
_BREAKING = re.compile(rf"{_tag_pattern(_BREAKING_TAGS).pattern}|<!--.*?-->", re.IGNORECASE | re.DOTALL)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, kw_only=True)
class TextRules(Settings):
    """Caption lengths kept, counted after normalisation."""

    min_chars: int = option(
        5, flag="min-text-chars", metavar="N", help="shortest caption kept, in characters", low=0, high=10**7
    )
    max_chars: int = option(
        1000, flag="max-text-chars", metavar="N", help="longest caption kept, in characters", low=1, high=10**7
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_chars > self.max_chars:
            raise ValueError(f"--min-text-chars {self.min_chars} is above --max-text-chars {self.max_chars}")


def strip_html(raw: str) -> str:
    """Entities decoded and HTML tags removed; the text itself when it holds neither ``&`` nor
    ``<`` (almost every caption), at the cost of two character searches."""
    if "&" not in raw and "<" not in raw:
        return raw
    text = html.unescape(raw)
    if "&" in text and text != raw:  # "&amp;amp;" was escaped twice: decode once more
        text = html.unescape(text)
    if "<" in text:  # after decoding: "&lt;br&gt;" is a tag too
        text = _BREAKING.sub(" ", _INLINE.sub("", text))
    return text


def clean_text(raw: str) -> tuple[str, bool]:
    """(the normalised text, whether HTML was taken out of it: tags or entities)."""
    stripped = strip_html(raw)
    return _WHITESPACE.sub(" ", nfc(stripped)).strip(), stripped is not raw and stripped != raw


def normalise_text(raw: str) -> str:
    """Entities decoded, tags removed, NFC, whitespace collapsed, trimmed."""
    return clean_text(raw)[0]


def not_unicode(*texts: str | None) -> bool:
    """Whether any of ``texts`` holds a lone surrogate, which UTF-8 cannot encode."""
    return any(text is not None and _SURROGATE.search(text) is not None for text in texts)


def text_rejection(text: str, rules: TextRules) -> str | None:
    """Why a normalised text is dropped (a stats reason), or None when it is kept."""
    if not text:
        return "empty_text"
    if len(text) < rules.min_chars:
        return "text_too_short"
    if len(text) > rules.max_chars:
        return "text_too_long"
    return None


def resolve_url(raw: str, page_url: str | None = None, base_href: str | None = None) -> str | None:
    """``raw`` made absolute against ``<base href>`` (itself relative to the page) or the page;
    None when one of them cannot be parsed (an unbalanced IPv6 bracket, say)."""
    raw = raw.strip()
    if raw[:8].lower().startswith(("http://", "https://")):
        return raw  # already absolute; normalise_url checks the rest
    base = page_url
    try:
        if base_href:
            base = urljoin(page_url, base_href.strip()) if page_url else base_href.strip()
        return urljoin(base, raw) if base else raw
    except ValueError:
        return None


def normalise_url(url: str | None) -> str | None:
    """The canonical form of an absolute http(s) URL with a host, or None for any other URL."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    scheme = parts.scheme  # urlsplit lower-cases it
    if scheme not in _DEFAULT_PORTS:
        return None
    netloc = parts.netloc
    if "@" in netloc or "[" in netloc:  # credentials or an IPv6 literal: let urllib parse it all
        try:
            port = parts.port
        except ValueError:  # an unparsable port
            return None
        if not parts.hostname or parts.username or parts.password:
            return None  # credentials in an image URL are refused rather than stored
        host = parts.hostname.lower()
        if ":" in host:  # IPv6 literal
            host = f"[{host}]"
    else:  # the common case, read as urllib's .hostname and .port would, without parsing twice
        host, _, port_text = netloc.partition(":")
        host = host.lower()
        if not port_text:
            port = None
        elif port_text.isdigit() and port_text.isascii() and int(port_text) <= 65535:
            port = int(port_text)
        else:
            return None
    if not host:
        return None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{netloc}{parts.path or '/'}{query}"


def url_uid(normalised_url: str) -> str:
    """A stable 128-bit hex id of a normalised URL (the pair's ``uid``)."""
    return hashlib.blake2b(normalised_url.encode("utf-8"), digest_size=16).hexdigest()


def has_image_extension(url: str, extensions: frozenset[str]) -> bool:
    """Whether the URL's path ends in one of ``extensions`` (lower-case, without dots)."""
    path = urlsplit(url).path.lower()
    return "." in path.rsplit("/", 1)[-1] and path.rsplit(".", 1)[-1] in extensions
