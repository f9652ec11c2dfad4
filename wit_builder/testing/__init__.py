"""The synthetic world every stage is tested, demonstrated and benchmarked on.

A deterministic mini Wikipedia (MediaWiki XML), its pageview history and a WordNet-format
database; a web of generated images with captions that say what is drawn, served from
loopback with scripted faults; and the crawl files that describe that web (Common Crawl WAT
files and URL + caption lists). See ``SyntheticWorld``.
"""

from wit_builder.testing.catalog import FAULTS, WebCatalog
from wit_builder.testing.config import WorldConfig
from wit_builder.testing.web import SyntheticWeb
from wit_builder.testing.world import SyntheticWorld, WorldLayout

__all__ = ["FAULTS", "SyntheticWeb", "SyntheticWorld", "WebCatalog", "WorldConfig", "WorldLayout"]
