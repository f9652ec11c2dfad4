"""Shard URL lists as WebDataset and open_clip write them: sources joined with ``::``, each a
path or URL with brace patterns (``gs://b/set/{000000..000123}.tar``), or a shard stage's folder
(its manifest lists the shards). Shared by ``verify`` and the trainer, so both accept the same
strings."""

from __future__ import annotations

import json

import fsspec
from braceexpand import braceexpand


def expand_urls(spec: str) -> list[str]:
    """Every URL of ``spec``, in order (``a/{0..2}.tar::b/x.tar`` gives four)."""
    urls: list[str] = []
    for source in spec.split("::"):
        source = source.strip()
        if source:
            urls.extend(braceexpand(source))
    return urls


WANTED = "wants a shard folder (the shard stage's output: manifest.json and .tar files), its manifest or shard URLs"


def resolve_shard_set(spec: str) -> tuple[list[str], dict | None, str | None]:
    """(shard URLs, the manifest, its path) for a shard stage's folder, its manifest.json, or a
    URL list; a URL list comes with the manifest beside its shards when there is one."""
    spec = spec.rstrip("/")
    filesystem, _ = fsspec.core.url_to_fs(spec)
    plain = "::" not in spec and "{" not in spec and not any(ch in spec for ch in "*?[")
    if plain and not filesystem.exists(spec):
        raise FileNotFoundError(f"{spec}: no such file or folder; {WANTED}")
    if spec.endswith(".json") or (plain and filesystem.isdir(spec)):
        manifest_path = spec if spec.endswith(".json") else f"{spec}/manifest.json"
        folder = manifest_path.rsplit("/", 1)[0] if "/" in manifest_path else "."
        if filesystem.exists(manifest_path):
            manifest = _read_json(manifest_path)
            try:
                return [f"{folder}/{shard['name']}" for shard in manifest["shards"]], manifest, manifest_path
            except (TypeError, KeyError) as error:
                raise ValueError(f"{manifest_path}: not a shard manifest ({type(error).__name__}: {error})") from error
        urls = sorted(filesystem.glob(f"{spec}/*.tar"))
        if not urls:
            from wit_builder.io.stage_folders import holds_other_stage

            if held := holds_other_stage(spec):
                raise FileNotFoundError(f"{spec} {held}; {WANTED}")
            raise FileNotFoundError(f"{spec}: holds no manifest.json and no .tar file; {WANTED}")
        protocol = spec.split("://", 1)[0] + "://" if "://" in spec else ""
        return [protocol + url if protocol and "://" not in url else url for url in urls], None, None
    urls = expand_urls(spec)
    if not urls:
        raise FileNotFoundError(f"no shard URL in {spec!r}")
    beside = f"{urls[0].rsplit('/', 1)[0]}/manifest.json" if "/" in urls[0] else "manifest.json"
    try:
        if fsspec.core.url_to_fs(beside)[0].exists(beside):
            return urls, _read_json(beside), beside
    except (OSError, ValueError):  # an unreachable store: the shards' own errors will say more
        pass
    return urls, None, None


def _read_json(path: str) -> dict:
    try:
        with fsspec.open(path, "rt", encoding="utf-8") as handle:
            return json.load(handle)
    except ValueError as error:  # not JSON
        raise ValueError(f"{path}: not a shard manifest ({error})") from error
