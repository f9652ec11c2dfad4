"""What the shard runner finds before the pipeline starts: the sample files and their row counts
(from the Parquet footers), the units of work, and whether the output is current."""

from __future__ import annotations

from collections.abc import Sequence

import fsspec

from wit_builder.io.chunks import Chunk, plan_chunks, readable_files
from wit_builder.shard.manifest import read_manifest
from wit_builder.shard.settings import ShardInputs, ShardRules


def describe_inputs(
    patterns: Sequence[str], queries: str | None, settings: ShardRules
) -> tuple[ShardInputs, list[Chunk]]:
    """The readable sample files (unreadable ones listed with their error) and their units."""
    from wit_builder.stage_run import stage_inputs

    files, rows, unreadable = readable_files(stage_inputs(patterns, "samples"), "samples")
    if queries:
        filesystem, _ = fsspec.core.url_to_fs(queries)
        if not filesystem.exists(queries):
            raise FileNotFoundError(f"the query list {queries!r} does not exist")
    inputs = ShardInputs(tuple(files), tuple(rows), queries, tuple(unreadable))
    return inputs, plan_chunks(files, settings.chunk_rows, rows)


def already_done(out: str, inputs: ShardInputs, settings: ShardRules) -> dict | None:
    """The manifest, when ``out`` already holds these inputs' shards with these settings, all present."""
    filesystem, _ = fsspec.core.url_to_fs(out)
    if not filesystem.exists(f"{out}/manifest.json"):
        return None
    manifest = read_manifest(f"{out}/manifest.json")
    if manifest.get("inputs_fingerprint") != inputs.fingerprint(settings) or manifest["settings"] != settings.as_dict():
        return None
    names = [name for shard in manifest["shards"] for name in (shard["name"], shard["index"])]
    return manifest if all(filesystem.exists(f"{out}/{name}") for name in names) else None
