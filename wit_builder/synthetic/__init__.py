"""The synthetic world the demo runs on, and every stage is tested and benchmarked on.

A deterministic mini Wikipedia (MediaWiki XML), its pageview history and a WordNet-format
database; a web of generated images with captions that say what is drawn, served from
loopback with scripted faults; and the crawl files that describe that web (Common Crawl WAT
files and URL + caption lists). See ``SyntheticWorld``.
"""

from __future__ import annotations

import importlib

# Imported on first use (PEP 562), so a module of this package that needs none of the world
# (``photos`` for the trainer's benchmarks, say) does not pull in the web server's aiohttp.
_HOMES = {
    "FAULTS": "catalog",
    "WebCatalog": "catalog",
    "WorldConfig": "config",
    "SyntheticWeb": "web",
    "SyntheticWorld": "world",
    "WorldLayout": "world",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
