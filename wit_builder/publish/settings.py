"""What only the publisher can say about a shard set: its name, licence and citation."""

from __future__ import annotations

from dataclasses import dataclass

from wit_builder.stage_settings import Settings, option

RELEASE = "release (croissant.json, README.md)"


@dataclass(frozen=True, kw_only=True)
class ReleaseSettings(Settings):
    """Written into ``croissant.json`` and the dataset card; they change no tar."""

    license: str | None = option(
        None,
        metavar="ID",
        group=RELEASE,
        help="the data set's licence: an SPDX id such as cc-by-4.0, or a URL (default: unknown)",
    )
    citation: str | None = option(None, metavar="TEXT", group=RELEASE, help="how to cite the data set (BibTeX or text)")
    dataset_name: str | None = option(
        None, metavar="NAME", group=RELEASE, help="the data set's name (default: the shard folder's name)"
    )
    release_version: str = option("1.0.0", metavar="V", group=RELEASE, help="the release's version, e.g. 1.0.0")

    def as_dict(self) -> dict:
        return {"license": self.license, "citation": self.citation, "dataset_name": self.dataset_name,
                "version": self.release_version}  # fmt: skip
