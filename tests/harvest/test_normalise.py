"""Text and URL rules of the harvest stage."""

from __future__ import annotations

import pytest

from wit_builder.harvest.normalise import (
    TextRules,
    clean_text,
    has_image_extension,
    normalise_text,
    normalise_url,
    not_unicode,
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
        ("&lt;b&gt;bold&lt;/b&gt;", "bold"),  # an escaped tag is a tag once decoded
        # Real captions' HTML (img2dataset's LAION test list): tags out, words kept apart or together.
        ("US Navy Blue Angels<br /> F/A-18 Hornet", "US Navy Blue Angels F/A-18 Hornet"),
        ("Angels<br>Hornet", "Angels Hornet"),
        ("<i>Nighthawks</i> by Edward Hopper", "Nighthawks by Edward Hopper"),
        ("<b>Bold</b>er <EM>type</em>", "Bolder type"),
        ('<span class="x">red</span> <a href="/y">circle</a>', "red circle"),
        ("<p>one</p><p>two</p>", "one two"),
        ("a photo <!-- tracking --> of a cat", "a photo of a cat"),
        # Angle brackets that are not tags stay.
        ("x < y > z", "x < y > z"),
        ("<3 my dog", "<3 my dog"),
        ("<Stereo Headphones> in black", "<Stereo Headphones> in black"),
        ("AT&T logo", "AT&T logo"),
    ],
)
def test_normalise_text(raw, expected):
    assert normalise_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [("a<br />b", True), ("Tom &amp; Jerry", True), ("AT&T", False), ("plain", False), ("x < y", False)],
)
def test_clean_text_says_whether_html_was_taken_out(raw, cleaned):
    assert clean_text(raw)[1] is cleaned


def test_lone_surrogates_are_not_unicode():
    assert not_unicode("ok", None, "caf\u00e9") is False
    assert not_unicode("ok", "broken \ud800 here") and not_unicode("\udfff")


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
