"""What the shard runner finds before the pipeline starts: the sample files and their row counts
(from the Parquet footers), the units of work, and whether the output is current."""

from __future__ import annotations

from collections.abc import Sequence

import fsspec

from wit_builder import stages
from wit_builder.io.chunks import Chunk, plan_chunks, require_readable
from wit_builder.shard.manifest import read_manifest
from wit_builder.shard.settings import ShardInputs, ShardRules
from wit_builder.shard.takedown import read_log


def describe_inputs(
    patterns: Sequence[str],
    queries: str | None,
    settings: ShardRules,
    out: str | None = None,
    curation: str | None = None,
) -> tuple[ShardInputs, list[Chunk]]:
    """The readable sample files (unreadable ones listed with their error) and their units. A
    path that cannot be right, or an ``out`` that cannot be used (checked before any file is
    read), is a ``UsageError``; no readable file is ``StageFailed``."""
    from wit_builder.io.query_list import check_query_list
    from wit_builder.io.stage_folders import check_out, input_files

    source = stages.main_input("shard")
    found = input_files("--samples", patterns, source.name, source.data)
    if queries:
        check_query_list("--queries", queries, read=False)
    if out is not None:
        check_out(out, "shard")
    if queries:
        check_query_list("--queries", queries)
    files, unreadable = require_readable(found, source.data, f"{source.name} samples")
    paths, rows, identities = (tuple(getattr(f, name) for f in files) for name in ("path", "rows", "identity"))
    # Samples taken down from the set in ``out`` stay out of every later run of it.
    taken_down = (
        frozenset(uid for entry in read_log(out) for uids in entry["removed"].values() for uid in uids)
        if out
        else frozenset()
    )
    left_out = curated_out(curation) if curation else frozenset()
    inputs = ShardInputs(paths, rows, queries, tuple(unreadable), identities, taken_down, left_out)
    return inputs, plan_chunks(files, settings.chunk_rows)


def curated_out(curation: str) -> frozenset[str]:
    """The uids the curate stage's rules dropped (every status but ``ok``), from its folder or
    its ``curation`` Parquet files. Held as a set: about 100 bytes a dropped sample."""
    import pyarrow.compute as pc

    from wit_builder.io.stage_folders import input_files
    from wit_builder.schemas import read_batches

    dropped: set[str] = set()
    for path in input_files("--curation", [curation], "curate", "curation"):
        for table in read_batches(path, "curation", ["uid", "status"]):
            dropped.update(table.filter(pc.not_equal(table.column("status"), "ok")).column("uid").to_pylist())
    return frozenset(dropped)


def already_done(out: str, inputs: ShardInputs, settings: ShardRules) -> dict | None:
    """The manifest, when ``out`` already holds these inputs' shards with these settings, all present."""
    filesystem, _ = fsspec.core.url_to_fs(out)
    if not filesystem.exists(f"{out}/manifest.json"):
        return None
    try:
        manifest = read_manifest(f"{out}/manifest.json")
    except ValueError:
        return None  # a damaged manifest: the shards are made again
    if not isinstance(manifest, dict):
        return None
    if manifest.get("inputs_fingerprint") != inputs.fingerprint(settings) or manifest["settings"] != settings.as_dict():
        return None
    names = [name for shard in manifest["shards"] for name in (shard["name"], shard["index"])]
    return manifest if all(filesystem.exists(f"{out}/{name}") for name in names) else None
