"""The synthetic world as one object: what it holds, and a folder laid out like the real sources.

    world = SyntheticWorld(WorldConfig.scaled(2, seed=7))
    with world.serve() as web:
        layout = world.write("/tmp/world", web.base_urls)

The files depend only on the config, the compression and the base URLs (the server's port
is part of every URL in a crawl file), so a fixed config and fixed base URLs give the same
bytes on every run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from wit_builder.io.unchanged_files import unchanged_mtimes_kept
from wit_builder.synthetic.catalog import FAULTS, ImageEntry, WebCatalog
from wit_builder.synthetic.config import WorldConfig
from wit_builder.synthetic.pageviews import write_pageviews
from wit_builder.synthetic.pair_lists import write_pair_lists
from wit_builder.synthetic.planted import PlantedSet
from wit_builder.synthetic.vocabulary import Vocabulary
from wit_builder.synthetic.wat import write_wat_files
from wit_builder.synthetic.web import SyntheticWeb
from wit_builder.synthetic.wikidump import Compression, write_wiki_dump
from wit_builder.synthetic.wikipages import WikiPage, build_wiki_pages
from wit_builder.synthetic.wordnet import write_wordnet

OFFLINE_BASE_URL = "http://127.0.0.{host}:8000"


@dataclass(frozen=True)
class WorldLayout:
    """Where each source of a written world lies, as the stages' input flags take them."""

    root: Path
    wiki_dump_glob: str
    pageviews_glob: str
    wordnet_dir: Path
    wat_glob: str
    wat_paths: Path
    pairs_dir: Path
    truth_images: Path
    planted_dir: Path  # planted.PlantedSet: an evaluation set, blocklists, a URL list with face boxes
    wordnet_lmf_glob: str  # a worldwide world's multilingual WordNet (LMF XML)

    @classmethod
    def at(cls, root: str | Path) -> WorldLayout:
        """Where ``SyntheticWorld.write(root)`` puts each source."""
        root = Path(root)
        return cls(
            root=root,
            wiki_dump_glob=str(root / "wiki" / "*wiki-*.xml*"),  # English, and any other wikis
            pageviews_glob=str(root / "pageviews" / "pageviews-*.gz"),
            wordnet_dir=root / "wordnet",
            wat_glob=str(root / "wat" / "crawl-data" / "*" / "segments" / "*" / "wat" / "*.warc.wat.gz"),
            wat_paths=root / "wat" / "wat.paths.gz",
            pairs_dir=root / "pairs",
            truth_images=root / "truth" / "images.parquet",
            planted_dir=root / "planted",
            wordnet_lmf_glob=str(root / "wordnet-lmf" / "*.xml"),
        )

    def relative_paths(self) -> dict[str, str]:
        """Each source's path relative to the world folder (what ``world.json`` records)."""
        root = str(self.root)
        return {
            name: str(value).removeprefix(root).lstrip("/") or "."
            for name, value in self.__dict__.items()
            if name != "root"
        }


def expected_status(image: ImageEntry) -> str:
    """The status the download stage should record for an image with its default settings:
    the fault's, else ``too_small`` for the tiny size class (8–24 px, under the 32 px minimum)."""
    if image.fault:
        return FAULTS[image.fault][1]
    return "too_small" if image.size_class == "tiny" else "ok"


class SyntheticWorld:
    """A deterministic Wikipedia, WordNet, pageview history and web, built from one config."""

    def __init__(self, config: WorldConfig | None = None):
        self.config = config or WorldConfig()

    @cached_property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary.build(self.config)

    @cached_property
    def wiki_pages(self) -> list[WikiPage]:
        return build_wiki_pages(self.config, self.vocabulary)

    @cached_property
    def article_titles(self) -> list[str]:
        return [p.title for p in self.wiki_pages if p.namespace == 0 and p.redirect_to is None]

    @cached_property
    def catalog(self) -> WebCatalog:
        return WebCatalog(self.config, self.article_titles)

    def offline_base_urls(self) -> list[str]:
        """Base URLs for a world written without a server (nothing answers there)."""
        return [OFFLINE_BASE_URL.format(host=k + 1) for k in range(self.catalog.host_count)]

    def serve(self, slow_seconds: float = 3.0, port: int = 0) -> SyntheticWeb:
        """The synthetic web server for this world (start it with ``with``); ``port`` 0 is any free one."""
        return SyntheticWeb(self.catalog, slow_seconds=slow_seconds, port=port)

    def write(
        self,
        out_dir: str | Path,
        base_urls: list[str] | None = None,
        compression: Compression = "bz2",
        damaged_wat: bool = False,
        broken_pages_every: int = 0,
    ) -> WorldLayout:
        """Write every source under ``out_dir`` and a ``world.json`` describing them. A file
        rewritten with the bytes it held keeps its modification time, so a run keyed on its
        sources (``wit-builder run``) finds the same world unchanged, and one on another port
        changed."""
        with unchanged_mtimes_kept(out_dir):
            return self._write(Path(out_dir), base_urls, compression, damaged_wat, broken_pages_every)

    def _write(
        self,
        root: Path,
        base_urls: list[str] | None,
        compression: Compression,
        damaged_wat: bool,
        broken_pages_every: int,
    ) -> WorldLayout:
        root.mkdir(parents=True, exist_ok=True)
        base_urls = base_urls or self.offline_base_urls()
        config = self.config
        write_wiki_dump(self.wiki_pages, root / "wiki", config.dump_files, compression, broken_pages_every)
        other_titles = [p.title for p in self.wiki_pages if p.namespace != 0 or p.redirect_to]
        write_pageviews(self.article_titles, other_titles, root / "pageviews", config.pageview_hours, config.seed)
        write_wordnet(self.vocabulary, root / "wordnet", config.wordnet_synsets, config.seed)
        write_wat_files(self.catalog, base_urls, root / "wat", config.wat_files, damaged=damaged_wat)
        write_pair_lists(self.catalog, base_urls, root / "pairs")
        if config.languages:  # the other wikis, their pageviews (a later hour) and their WordNet
            from wit_builder.synthetic.languages import write_world_wikis

            write_world_wikis(root, config.languages, max(60, config.articles // 2), config.seed)
        layout = WorldLayout.at(root)
        planted = PlantedSet(config.seed)
        plain = [image.caption for image in self.catalog.images if image.fault is None and image.size_class == "normal"]
        planted.write(layout.planted_dir, base_urls, plain[-len(planted.pictures) :])
        truth = self._write_truth(root / "truth", base_urls)
        assert truth == layout.truth_images
        manifest = {
            "config": config.to_dict(),
            "base_urls": base_urls,
            "layout": layout.relative_paths(),
            "counts": {
                "wiki_pages": len(self.wiki_pages),
                "articles": len(self.article_titles),
                "images": len(self.catalog.images),
                "web_pages": len(self.catalog.pages),
                "img_links": sum(len(p.images) for p in self.catalog.pages),
            },
            "faults": {name: {"behaviour": b, "expected_status": s} for name, (b, s) in FAULTS.items()},
        }
        (root / "world.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return layout

    def _write_truth(self, out_dir: Path, base_urls: list[str]) -> Path:
        """Ground truth for tests and benchmarks: every image, its URL, caption and fate."""
        out_dir.mkdir(parents=True, exist_ok=True)
        images = self.catalog.images
        table = pa.table(
            {
                "image_id": pa.array([i.image_id for i in images], pa.int64()),
                "url": [i.url(base_urls) for i in images],
                "caption": [i.caption for i in images],
                "extension": [i.extension for i in images],
                "width": pa.array([i.width for i in images], pa.int32()),
                "height": pa.array([i.height for i in images], pa.int32()),
                "size_class": [i.size_class for i in images],
                "fault": [i.fault for i in images],
                "expected_status": [expected_status(i) for i in images],
            }
        )
        if self.config.misaligned_share or self.config.near_copy_groups:  # curation's ground truth
            misaligned = self.catalog.misaligned
            table = table.append_column("shown_caption", pa.array([self.catalog.shown_caption(i) for i in images]))
            table = table.append_column("misaligned", pa.array([i.image_id in misaligned for i in images]))
            originals = {i.copy_of for i in images if i.copy_of is not None}
            group = [i.copy_of if i.copy_of is not None else i.image_id if i.image_id in originals else -1
                     for i in images]  # fmt: skip
            table = table.append_column("near_copy_group", pa.array(group, pa.int64()))
        path = out_dir / "images.parquet"
        pq.write_table(table, path)
        return path
