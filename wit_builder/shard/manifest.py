"""``manifest.json`` and ``sizes.json``: what a trainer and an auditor need without opening a tar.

The manifest is written last and is the commit point of the stage: a folder with a manifest is
a finished data set. It holds the brace pattern of the tars (``{000000..000123}.tar``), the URL
pattern when ``--base-url`` says where they will be served from, the ``--train-data`` string,
each shard's sample count, byte size and SHA-256, the totals, the settings and fingerprint, and
the upstream stages' stats. ``sizes.json`` is open_clip's layout (``{"000000.tar": 10000}``), so
its ``--train-num-samples`` can be left out.
"""

from __future__ import annotations

import os
from typing import Any

import fsspec

from wit_builder import __version__, stages
from wit_builder.io.json_files import read_json

MANIFEST_VERSION = 1


def brace_pattern(names: list[str]) -> str:
    """``{000000..000123}.tar`` for names that are consecutive numbers from 0 (as written here)."""
    if not names:
        return ""
    stems = [name.removesuffix(".tar") for name in names]
    return f"{{{stems[0]}..{stems[-1]}}}.tar"


def location(out_dir: str) -> str:
    """Where the shards are, as a trainer should be told: an absolute local path, or the URL."""
    if "://" in out_dir:
        return out_dir.rstrip("/")
    return os.path.abspath(out_dir)


def train_data(out_dir: str, pattern: str, base_url: str | None) -> str:
    """The ``--train-data`` string: the base URL's pattern when given, else where the shards are."""
    root = base_url.rstrip("/") if base_url else location(out_dir)
    return f"{root}/{pattern}" if pattern else ""


def upstream_stats(samples_inputs: list[str]) -> dict[str, Any]:
    """The ``stats.json`` of the download folder given as input, and of the earlier stages beside
    it when it sits in a chain run's folder (``RUN/download`` next to ``RUN/balance``...)."""
    found: dict[str, Any] = {}
    for given in samples_inputs:
        folder = given.rstrip("/")
        filesystem, _ = fsspec.core.url_to_fs(folder)
        if not (filesystem.isdir(folder) and filesystem.exists(f"{folder}/stats.json")):
            continue
        parent = folder.rsplit("/", 1)[0] if "/" in folder else "."
        given_stage = stages.main_input("shard").name
        for stage in stages.upstream("shard"):
            path = f"{folder}/stats.json" if stage == given_stage else f"{parent}/{stage}/stats.json"
            if stage not in found and filesystem.exists(path):
                try:
                    found[stage] = {"path": path, "stats": read_json(path, f"stats.{stage}")}
                except ValueError as error:  # the manifest says so, and the shards are still written
                    found[stage] = {"path": path, "stats": None, "error": str(error)}
    return found


def build_manifest(
    shards: list[dict], settings: dict, fingerprint: str, digits: tuple[int, int], out_dir: str, upstream: dict
) -> dict[str, Any]:
    shards = sorted(shards, key=lambda shard: shard["name"])
    pattern = brace_pattern([shard["name"] for shard in shards])
    base_url = settings.get("base_url")
    return {
        "format": "webdataset",
        "manifest_version": MANIFEST_VERSION,
        "index_schema": "shard_index",
        "created_by": f"wit-builder {__version__}",
        "pattern": pattern,
        "url_pattern": f"{base_url.rstrip('/')}/{pattern}" if base_url and pattern else None,
        "train_data": train_data(out_dir, pattern, base_url),
        "totals": {
            "shards": len(shards),
            "samples": sum(s["samples"] for s in shards),
            "bytes": sum(s["bytes"] for s in shards),
        },
        "keys": {"shard_digits": digits[0], "index_digits": digits[1], "members": ["IMAGE", "json", "txt"]},
        "shards": [{**shard, "index": shard["name"].removesuffix(".tar") + ".parquet"} for shard in shards],
        "settings": settings,
        "fingerprint": fingerprint,
        "upstream": upstream,
    }


def read_manifest(path: str) -> dict[str, Any]:
    """A shard manifest; ``DamagedFile`` naming the file when it is not JSON, or not a manifest
    (``schemas/documents/manifest.json``: its shards, their sizes and sums, its totals)."""
    return read_json(path, "manifest")
