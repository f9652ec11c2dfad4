"""The synthetic web, served on loopback, fetched with a real HTTP client: every fault as documented."""

from __future__ import annotations

import asyncio
import io
from html.parser import HTMLParser
from urllib.parse import urljoin

import aiohttp
import pytest
from PIL import Image

from wit_builder.synthetic import FAULTS

pytestmark = pytest.mark.network


def first_with(world, fault):
    return next(image for image in world.catalog.images if image.fault == fault)


async def fetch(url, **kwargs):
    timeout = aiohttp.ClientTimeout(total=kwargs.pop("timeout", 10))
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url, **kwargs) as response:
        return response.status, dict(response.headers), await response.read()


def get(url, **kwargs):
    return asyncio.run(fetch(url, **kwargs))


def test_every_fault_is_in_the_catalogue(small_world):
    assert {image.fault for image in small_world.catalog.images} - {None} == set(FAULTS)


def test_plain_images_decode_at_their_catalogue_size(small_world, served_world):
    plain = [image for image in small_world.catalog.images if image.fault is None][:12]
    for image in plain:
        status, headers, body = get(image.url(served_world.base_urls))
        assert status == 200
        decoded = Image.open(io.BytesIO(body))
        decoded.load()
        assert decoded.size == (image.width, image.height)
        assert (
            headers["Content-Type"] == {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[image.extension]
        )


def test_hosts_are_distinct_loopback_addresses(served_world):
    assert served_world.base_urls[0].startswith("http://127.0.0.1:")
    assert served_world.base_urls[2].startswith("http://127.0.0.3:")
    status, _, body = get(served_world.base_urls[1] + "/")
    assert status == 200 and b"redirect_loop" in body


def test_not_found(small_world, served_world):
    assert get(first_with(small_world, "not_found").url(served_world.base_urls))[0] == 404


@pytest.mark.parametrize(("fault", "first_status"), [("server_error_then_ok", 500), ("rate_limited_then_ok", 429)])
def test_fails_once_then_serves(small_world, fault, first_status):
    """On a server of its own: the session's web has served its one failure to whichever test
    (the chain's downloads, say) asked first."""
    with small_world.serve(slow_seconds=1.0) as web:
        url = first_with(small_world, fault).url(web.base_urls)
        status, headers, _ = get(url)
        assert status == first_status
        if fault == "rate_limited_then_ok":
            assert headers["Retry-After"] == "1"
        status, _, body = get(url)
        assert status == 200 and Image.open(io.BytesIO(body)).size


def test_slow_answers_after_the_delay(small_world, served_world):
    url = first_with(small_world, "slow").url(served_world.base_urls)
    with pytest.raises(asyncio.TimeoutError):
        get(url, timeout=0.3)
    assert get(url, timeout=5)[0] == 200


def test_truncated_body_drops_the_connection(small_world, served_world):
    with pytest.raises(aiohttp.ClientPayloadError):
        get(first_with(small_world, "truncated").url(served_world.base_urls))


def test_broken_image_fails_to_decode(small_world, served_world):
    status, _, body = get(first_with(small_world, "broken_image").url(served_world.base_urls))
    assert status == 200
    with pytest.raises(OSError):
        Image.open(io.BytesIO(body)).load()


def test_wrong_type_and_html(small_world, served_world):
    status, headers, body = get(first_with(small_world, "wrong_type").url(served_world.base_urls))
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and body.startswith(b"<!DOCTYPE html>")
    status, headers, _ = get(first_with(small_world, "html").url(served_world.base_urls))
    assert status == 200 and headers["Content-Type"].startswith("text/html")


def test_redirect_and_redirect_loop(small_world, served_world):
    status, _, body = get(first_with(small_world, "redirect").url(served_world.base_urls))
    assert status == 200 and Image.open(io.BytesIO(body)).size
    with pytest.raises(aiohttp.TooManyRedirects):
        get(first_with(small_world, "redirect_loop").url(served_world.base_urls), max_redirects=5)


def test_noai_header(small_world, served_world):
    status, headers, _ = get(first_with(small_world, "noai").url(served_world.base_urls))
    assert status == 200 and headers["X-Robots-Tag"] == "noai, noimageai"


def test_faulty_images_are_not_reachable_without_their_fault(small_world, served_world):
    image = first_with(small_world, "noai")
    assert get(served_world.base_urls[image.host] + f"/img/{image.name}")[0] == 404


class ImageSources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.base, self.images = None, []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "base":
            self.base = attributes["href"]
        elif tag == "img":
            self.images.append((attributes["src"], attributes["alt"]))


def test_pages_embed_catalogue_images_with_alt_text(small_world, served_world):
    catalog = small_world.catalog
    urls = {image.url(served_world.base_urls) for image in catalog.images}
    for page in catalog.pages[:20]:
        page_url = page.url(served_world.base_urls)
        status, _, body = get(page_url)
        assert status == 200
        parser = ImageSources()
        parser.feed(body.decode())
        sources = [src for src, _ in parser.images if not src.startswith("data:")]
        assert len(sources) == sum(1 for item in page.images if item.image_id is not None)
        assert {urljoin(parser.base or page_url, src) for src in sources} <= urls


def test_requests_are_counted(small_world, served_world):
    image = next(image for image in small_world.catalog.images if image.fault is None)
    before = served_world.requests[image.path]
    get(image.url(served_world.base_urls))
    assert served_world.requests[image.path] == before + 1
