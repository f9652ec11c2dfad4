"""``wit-builder shard``: flags from ``ShardSettings``, and the thin runner around the pipeline."""

from __future__ import annotations

from collections.abc import Sequence

import fsspec

from wit_builder.shard.settings import ShardSettings
from wit_builder.wording import counted


def run(settings: ShardSettings, beam_args: Sequence[str]) -> int:
    from wit_builder.progress import Progress, files_in
    from wit_builder.shard.inputs import already_done, describe_inputs
    from wit_builder.shard.manifest import upstream_stats
    from wit_builder.shard.pipeline import build_pipeline
    from wit_builder.shard.takedown import roll_forward
    from wit_builder.stage_run import replace_outputs, run_pipeline

    rules = settings.rules
    if fsspec.core.url_to_fs(settings.out)[0].isdir(settings.out):
        roll_forward(settings.out.rstrip("/"))  # a takedown a kill interrupted: finished, then honoured
    inputs, chunks = describe_inputs(settings.samples, settings.queries, rules, settings.out, settings.curation)
    out = settings.out.rstrip("/")
    done = already_done(out, inputs, rules)
    if done is not None and done["totals"]["samples"]:  # an empty set is a failure, never "up to date"
        _refresh_release(out, done, settings.release.as_dict())
        print(
            f"[shard] {out} is up to date ({done['totals']['shards']} shard(s), {done['totals']['samples']:,} "
            f"samples); nothing to do.\n[shard] --train-data '{done['train_data']}'"
        )
        return 0
    # The manifest is the commit point: none may describe a folder while it is being rewritten.
    stale = ("manifest.json", "sizes.json", "stats.json", "croissant.json", "README.md", "report")
    replace_outputs(out, "shard", stale, ("work/runs", "work/shards", "report"))
    rows = sum(chunk.rows for chunk in chunks)
    print(f"[shard] {rows:,} samples in {len(inputs.files)} file(s), {len(chunks)} unit(s) -> {out}", flush=True)
    upstream = upstream_stats(settings.samples)
    progress = Progress("units scattered", len(chunks), files_in(f"{out}/work/runs/*.json"))
    report, seconds = run_pipeline(
        "shard",
        lambda pipeline: build_pipeline(pipeline, inputs, chunks, rules, out, upstream, settings.release.as_dict()),
        beam_args,
        out,
        progress,
    )
    return print_summary(out, report, seconds)


def _refresh_release(out: str, manifest: dict, release: dict) -> None:
    """An up-to-date set whose publisher's facts changed (another --license, say): the manifest
    records them and the release files are written again; no tar changes."""
    from wit_builder.io.json_files import write_json
    from wit_builder.publish.release_files import CARD, CROISSANT, write_release_files

    filesystem, _ = fsspec.core.url_to_fs(out)
    present = filesystem.exists(f"{out}/{CROISSANT}") and filesystem.exists(f"{out}/{CARD}")
    if manifest.get("release") == release and present:
        return
    manifest["release"] = release
    write_release_files(out, manifest)
    write_json(f"{out}/manifest.json", manifest, ensure_ascii=False, schema="manifest")


def print_summary(out: str, report: dict, seconds: float) -> int:
    from wit_builder.errors import StageFailed
    from wit_builder.shard.manifest import read_manifest
    from wit_builder.stderr import warn_skipped

    rejected = ", ".join(f"{reason} {count:,}" for reason, count in report["rejected"].items() if count) or "none"
    print(
        f"[shard] {report['written']:,} of {counted(report['samples_in'], 'sample')} written into "
        f"{counted(report['shards'], 'shard')}, {report['bytes'] / 1e6:,.1f} MB, in {seconds:.1f}s; "
        f"capped {report['capped']:,}; "
        f"rejected: {rejected}; report: {out}/report/balance.html"
    )
    if not report["written"]:
        raise StageFailed(
            f"no sample could be written (samples in {report['samples_in']:,}; rejected: {rejected}; "
            f"unreadable files {len(report['unreadable_files'])}); see {out}/stats.json"
        )
    warn_skipped("shard", report["unreadable_files"])
    manifest = read_manifest(f"{out}/manifest.json")
    print(f"[shard] --train-data '{manifest['train_data']}'")
    return 0
