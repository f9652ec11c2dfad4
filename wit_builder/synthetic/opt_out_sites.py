"""The synthetic web's opt-out signals: what each host's robots.txt, tdmrep.json and ai.txt say,
and which response headers the opt-out faults send, so every signal the download stage honours
is exercised by the demo and the tests, each with the status it should end in.

The ordinary hosts (``WorldConfig.hosts``) share one set of host files, whose rules refuse
only the paths of their own faults (``/f/robots_disallow_all/``...), so the rest of the web is
unaffected. Signals that are about a whole host (a robots.txt that answers 503, one of 600 KiB,
one that redirects, a Crawl-delay) each have a host of their own after the ordinary ones: the
"sites" below, whose images all carry the site's fault.
"""

from __future__ import annotations

from dataclasses import dataclass

# The ordinary hosts' files: each rule names the path of one fault.
ROBOTS = (
    "# The synthetic web's robots.txt: each rule refuses the images of one opt-out fault.\n"
    "User-agent: *\n"
    "Disallow: /f/robots_disallow_all/\n"
    "Content-Usage: /f/content_usage_robots/ train-ai=n\n"
    "\n"
    "User-agent: otherbot\n"
    "Disallow: /\n"
)
TDMREP = '[{"location": "/f/tdmrep_file/*", "tdm-reservation": 1, "tdm-policy": "https://example.org/policy"}]\n'
AI_TXT = "# ai.txt\nUser-Agent: *\nDisallow: /f/ai_txt/\n"

# Faults served by every ordinary host: (behaviour, expected status, response headers).
HEADER_FAULTS: dict[str, tuple[str, str, dict[str, str]]] = {
    "x_robots_noml": ("the image with X-Robots-Tag: noml", "opted_out", {"X-Robots-Tag": "noml"}),
    "x_robots_other": (
        "the image with X-Robots-Tag: otherbot: noai (not addressed to us)",
        "ok",
        {"X-Robots-Tag": "otherbot: noai"},
    ),
    "tdm_header": ("the image with the header tdm-reservation: 1", "opted_out", {"tdm-reservation": "1"}),
    "content_usage_header": ("the image with Content-Usage: train-ai=n", "opted_out", {"Content-Usage": "train-ai=n"}),
    "content_usage_genai": (
        "the image with Content-Usage: train-genai=n (generative training only)",
        "ok",
        {"Content-Usage": "train-genai=n"},
    ),
}
PATH_FAULTS: dict[str, tuple[str, str]] = {
    "robots_disallow_all": ("a path robots.txt disallows for every crawler", "opted_out"),
    "content_usage_robots": ("a path robots.txt's Content-Usage line says train-ai=n for", "opted_out"),
    "tdmrep_file": ("a path tdmrep.json reserves", "opted_out"),
    "ai_txt": ("a path ai.txt disallows", "opted_out"),
}


@dataclass(frozen=True)
class Site:
    """A host of its own: its fault's name, what it does, the status its images should end in,
    and its host files (path: text, or an HTTP status, or ``("redirect", path)``)."""

    fault: str
    behaviour: str
    status: str
    files: dict


HUGE_ROBOTS = "#" * (600 * 1024) + "\nUser-agent: *\nDisallow: /\n"  # the rule lies past 500 KiB
SITES: tuple[Site, ...] = (
    Site(
        "robots_disallow_us",
        "a host whose robots.txt disallows its images for wit-builder only",
        "opted_out",
        {"robots.txt": "User-agent: *\nAllow: /\n\nUser-agent: wit-builder\nDisallow: /f/\n"},
    ),
    Site("robots_unavailable", "a host whose robots.txt answers 503", "opted_out", {"robots.txt": 503}),
    Site(
        "robots_huge",
        "a host whose robots.txt is 600 KiB, its only rule past 500 KiB",
        "ok",
        {"robots.txt": HUGE_ROBOTS},
    ),
    Site(
        "robots_redirected",
        "a host whose robots.txt redirects to one that disallows its images",
        "opted_out",
        {"robots.txt": ("redirect", "/moved/robots.txt"), "moved/robots.txt": "User-agent: *\nDisallow: /f/\n"},
    ),
    Site("robots_missing", "a host with no robots.txt (404: everything allowed)", "ok", {}),
    Site(
        "crawl_delay",
        "a host whose robots.txt asks for Crawl-delay: 0.2",
        "ok",
        {"robots.txt": "User-agent: *\nCrawl-delay: 0.2\n"},
    ),
)
SITE_FAULTS = {site.fault: site for site in SITES}

# Faults whose images appear only on pages declaring an opt-out in a <meta> tag (and in no URL
# list), so harvest reads the signal from the WAT record: (behaviour, status, the meta tag).
META_FAULTS: dict[str, tuple[str, str, tuple[str, str]]] = {
    "meta_noimageai": (
        'the image, only on a page with <meta name="robots" content="noimageai">',
        "opted_out",
        ("robots", "noimageai"),
    ),
    "meta_tdm": (
        'the image, only on a page with <meta name="tdm-reservation" content="1">',
        "opted_out",
        ("tdm-reservation", "1"),
    ),
}

# Every opt-out fault: (behaviour, expected status).
OPT_OUT_FAULTS: dict[str, tuple[str, str]] = {
    **{name: (behaviour, status) for name, (behaviour, status, _) in HEADER_FAULTS.items()},
    **{name: (behaviour, status) for name, (behaviour, status, _) in META_FAULTS.items()},
    **PATH_FAULTS,
    **{site.fault: (site.behaviour, site.status) for site in SITES},
}


def host_file(host: int, ordinary_hosts: int, path: str) -> str | int | tuple | None:
    """What host number ``host`` serves at ``path`` (``robots.txt``, ``ai.txt``...): text, an
    HTTP status, ``("redirect", path)``, or None (404)."""
    if host < ordinary_hosts:
        return {"robots.txt": ROBOTS, ".well-known/tdmrep.json": TDMREP, "ai.txt": AI_TXT}.get(path)
    index = host - ordinary_hosts
    return SITES[index].files.get(path) if index < len(SITES) else None


def site_host(fault: str | None, ordinary_hosts: int) -> int | None:
    """The host an image of ``fault`` lives on when the fault is a site's, else None."""
    site = SITE_FAULTS.get(fault or "")
    return ordinary_hosts + SITES.index(site) if site else None
