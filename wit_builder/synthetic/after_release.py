"""The synthetic web as it is some months after a release: it has changed its mind.

So ``wit-builder recheck`` can be tried (``wit-builder world --serve --after-release``) and
tested against every kind of drift it looks for, each change is scripted here, with the finding
it must give each image of the catalogue:

- the second host's robots.txt now disallows ``/img/1`` (its images whose id starts with 1:
  ``opted_out``, robots);
- the third host's tdmrep.json now reserves ``/img/2*`` (ids starting with 2: ``opted_out``, tdmrep);
- on the first host, every tenth plain image is replaced by another picture (``changed``), the
  one five after it answers 410 (``gone``), the one three after it answers 404 (``gone``), and
  the one seven after it is now sent with ``X-Robots-Tag: noai`` (``opted_out``, x-robots-tag).

Images behind a fault route (``/f/...``) and on other hosts are unchanged.
"""

from __future__ import annotations

import json

from wit_builder.synthetic.catalog import ImageEntry, WebCatalog
from wit_builder.synthetic.opt_out_sites import ROBOTS
from wit_builder.synthetic.web import SyntheticWeb, image_bytes

DISALLOWING_HOST, RESERVING_HOST, CHANGING_HOST = 1, 2, 0
DISALLOWED, RESERVED = "1", "2"  # the image ids (as text) the new rules cover start so
# Per image id modulo 10 on the changing host: what became of the image.
BY_REMAINDER = {0: ("changed", None), 5: ("gone", None), 3: ("gone", None), 7: ("opted_out", "x-robots-tag")}


def _plain(image: ImageEntry) -> bool:
    """Served at ``/img/ID.EXT`` (no fault route): originals and their near copies."""
    return image.fault is None


def expected_finding(image: ImageEntry, hosts: int) -> tuple[str, str | None] | None:
    """What ``recheck --refetch`` must find for ``image`` on the web after the release; None
    for an image that did not change (``hosts``: the world's ordinary hosts)."""
    if not _plain(image):
        return None
    if image.host == DISALLOWING_HOST < hosts and image.name.startswith(DISALLOWED):
        return ("opted_out", "robots")
    if image.host == RESERVING_HOST < hosts and image.name.startswith(RESERVED):
        return ("opted_out", "tdmrep")
    if image.host == CHANGING_HOST:
        return BY_REMAINDER.get(image.image_id % 10)
    return None


def change_its_mind(web: SyntheticWeb) -> list[str]:
    """Make ``web`` answer as it does after the release; returns what changed, for people."""
    catalog: WebCatalog = web.catalog
    hosts = catalog.config.hosts
    done = []
    if hosts > DISALLOWING_HOST:
        rule = f"Disallow: /img/{DISALLOWED}"
        robots = ROBOTS.replace("User-agent: *\n", f"User-agent: *\n{rule}\n", 1)
        web.change("/robots.txt", host=DISALLOWING_HOST, body=robots)
        done.append(f"{web.base_urls[DISALLOWING_HOST]}/robots.txt now says {rule}")
    if hosts > RESERVING_HOST:
        tdmrep = json.dumps([{"location": f"/img/{RESERVED}*", "tdm-reservation": 1}])
        web.change("/.well-known/tdmrep.json", host=RESERVING_HOST, body=tdmrep)
        done.append(f"{web.base_urls[RESERVING_HOST]}/.well-known/tdmrep.json now reserves /img/{RESERVED}*")
    plain = [image for image in catalog.images if _plain(image) and image.host == CHANGING_HOST]
    counts = {"changed": 0, "gone": 0, "tagged": 0}
    for position, image in enumerate(plain):
        finding = BY_REMAINDER.get(image.image_id % 10)
        if finding is None:
            continue
        if finding[0] == "changed":
            web.change(image.path, host=CHANGING_HOST, body=_another_picture(image, plain[position + 1 :] + plain))
            counts["changed"] += 1
        elif finding[0] == "gone":
            status = 410 if image.image_id % 10 == 5 else 404
            web.change(image.path, host=CHANGING_HOST, status=status, body=b"gone\n", content_type="text/plain")
            counts["gone"] += 1
        else:
            headers = {"X-Robots-Tag": "noai"}
            web.change(image.path, host=CHANGING_HOST, body=image_bytes(image), headers=headers)
            counts["tagged"] += 1
    done.append(
        f"{web.base_urls[CHANGING_HOST]}: {counts['changed']} images replaced, {counts['gone']} gone (404, 410), "
        f"{counts['tagged']} now sent with X-Robots-Tag: noai"
    )
    return done


def _another_picture(image: ImageEntry, candidates: list[ImageEntry]) -> bytes:
    """The bytes of the next image of the same format whose bytes differ: what a site that
    replaced a picture under the same URL serves."""
    own = image_bytes(image)
    for other in candidates:
        if other.extension == image.extension and (data := image_bytes(other)) != own:
            return data
    return own[:-2] + bytes([own[-2] ^ 1]) + own[-1:]  # a world of one picture: the same, one byte changed
