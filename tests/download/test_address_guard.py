"""The SSRF guard: which addresses, schemes and ports the downloader refuses."""

from __future__ import annotations

import pytest

from wit_builder.download.address_guard import is_public_address, port_allowed, url_refusal


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True), ("2606:4700:4700::1111", True),
        ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),  # private
        ("127.0.0.1", False), ("::1", False),  # loopback
        ("169.254.169.254", False), ("fe80::1%eth0", False),  # link-local: cloud metadata, zone ids
        ("100.64.0.1", False),  # shared address space (carrier NAT)
        ("0.0.0.0", False), ("224.0.0.1", False), ("ff02::1", False),  # unspecified, multicast
        ("::ffff:127.0.0.1", False), ("::ffff:8.8.8.8", True),  # IPv4-mapped IPv6
        ("192.0.2.1", False),  # documentation range
    ],
)  # fmt: skip
def test_public_addresses(address, public):
    assert is_public_address(address) is public


def test_ports():
    assert port_allowed(80, None) and port_allowed(443, None) and port_allowed(8080, None)
    assert not port_allowed(22, None) and not port_allowed(25, None)
    assert port_allowed(22, {22}) and not port_allowed(8080, {80, 443})


@pytest.mark.parametrize(
    ("url", "private_ok", "status"),
    [
        ("http://93.184.216.34/a.jpg", False, None),
        ("http://example.com/a.jpg", False, None),  # names are checked when they resolve
        ("http://127.0.0.1:8000/a.jpg", False, "private_address"),
        ("http://127.0.0.1:8000/a.jpg", True, None),
        ("http://[::1]:8000/a.jpg", False, "private_address"),
        ("http://169.254.169.254/latest/meta-data/", False, "private_address"),
        ("ftp://example.com/a.jpg", False, "blocked_url"),
        ("file:///etc/passwd", False, "blocked_url"),
        ("http://example.com:22/a.jpg", False, "blocked_url"),
        ("http://example.com:99999/a.jpg", False, "blocked_url"),
        ("http:///a.jpg", False, "blocked_url"),
    ],
)
def test_url_refusals(url, private_ok, status):
    refusal = url_refusal(url, None, private_ok)
    assert (refusal[0] if refusal else None) == status
