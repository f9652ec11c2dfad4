"""Text and URL rules of the harvest stage."""

from __future__ import annotations

import pytest

from wit_builder.harvest.normalise import (
    TextRules,
    has_image_extension,
    normalise_text,
    normalise_url,
    resolve_url,
    text_rejection,
    url_uid,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Tom &amp; Jerry  ", "Tom & Jerry"),
        ("Tom &amp;amp; Jerry", "Tom & Jerry"),  # escaped twice
        ("a\n red\t\tcircle ", "a red circle"),
        ("cafe\u0301", "café"),  # NFC
        ("&lt;b&gt;bold&lt;/b&gt;", "<b>bold</b>"),
    ],
)
def test_normalise_text(raw, expected):
    assert normalise_text(raw) == expected


def test_text_rejections():
    rules = TextRules(min_chars=5, max_chars=20)
    assert text_rejection("", rules) == "empty_text"
    assert text_rejection("logo", rules) == "text_too_short"
    assert text_rejection("a red", rules) is None  # exactly the minimum
    assert text_rejection("x" * 20, rules) is None and text_rejection("x" * 21, rules) == "text_too_long"


@pytest.mark.parametrize(
    ("raw", "page", "base", "expected"),
    [
        ("../img/1.jpg", "http://h:8/pages/3.html", None, "http://h:8/img/1.jpg"),
        ("/img/1.jpg", "http://h/pages/3.html", None, "http://h/img/1.jpg"),
        ("//cdn.example/a.png", "https://h/p", None, "https://cdn.example/a.png"),
        ("1.jpg", "http://h/pages/3.html", "http://h/img/", "http://h/img/1.jpg"),
        ("1.jpg", "http://h/pages/3.html", "/img/", "http://h/img/1.jpg"),  # a relative base
        ("http://other/x.jpg", "http://h/p", None, "http://other/x.jpg"),
        ("x.jpg", None, None, "x.jpg"),  # nothing to resolve against
        ("  HTTP://Other/x.jpg ", "http://h/p", None, "HTTP://Other/x.jpg"),  # absolute: kept, normalised later
        ("x.jpg", "http://[::1/p", None, None),  # an unparsable page URL: no crash, no URL
        ("ftp://[::1x", "http://h/p", None, None),
        ("x.jpg", "http://h/p", "http://[bad/", None),  # an unparsable <base href>
    ],
)
def test_resolve_url(raw, page, base, expected):
    assert resolve_url(raw, page, base) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM:80/A.jpg#frag", "http://example.com/A.jpg"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/a?b=1", "https://example.com:8443/a?b=1"),
        ("http://[::1]:8000/a.jpg", "http://[::1]:8000/a.jpg"),
        ("data:image/gif;base64,R0lGOD", None),
        ("ftp://host/a.jpg", None),
        ("javascript:void(0)", None),
        ("/img/relative.jpg", None),
        ("http://user:pw@host/a.jpg", None),
        ("http://host:99999/a.jpg", None),
        ("http://host:port/a.jpg", None),
        ("http://[::1/a.jpg", None),  # unbalanced IPv6 bracket
        ("http:///a.jpg", None),  # no host: dropped, not resolved against the page as urljoin would
        ("http://", None),
        ("http://@host/a.jpg", "http://host/a.jpg"),  # empty credentials are no credentials
        (None, None),
    ],
)
def test_normalise_url(url, expected):
    assert normalise_url(url) == expected


def test_uid_is_stable_and_distinct():
    a = url_uid("http://example.com/a.jpg")
    assert a == url_uid("http://example.com/a.jpg") and len(a) == 32
    assert a != url_uid("http://example.com/b.jpg")


def test_image_extensions():
    extensions = frozenset({"jpg", "png"})
    assert has_image_extension("http://h/a/B.JPG?x=1", extensions)
    assert not has_image_extension("http://h/a/b.gif", extensions) and not has_image_extension(
        "http://h/jpg", extensions
    )
