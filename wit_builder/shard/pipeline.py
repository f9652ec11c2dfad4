"""The shard stage as a Beam pipeline: globally shuffled tars from the download stage's samples.

    samples/*.parquet ─► pass 1: matches per query (the balance stage's count_matches)
         │                  │ queries over --per-query, as a side input
         ├─► pass 2: samples the cap keeps, per unit ─► sum ─► ShardPlan (the number of shards)
         └─► pass 3 ScatterFn: each unit ─► work/runs/UNIT.run, records sorted by placement key
                 ─► (shard, segment descriptor) ─► GroupByKey
                 ─► pass 4 WriteShardFn: NNNNNN.tar + NNNNNN.parquet (+ work/shards/NNNNNN.json)
                 ─► report/balance.parquet (matched and kept per query, the balance's join)
                 ─► finish: stats.json, sizes.json, report/balance.html, manifest.json (last)

Only counts, plans and segment descriptors go through Beam; image bytes go from the samples
files to run files to tars, so memory does not grow with the data (see ``scatter.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import apache_beam as beam
import fsspec
from apache_beam import pvalue

from wit_builder.capping.report import per_query_report
from wit_builder.capping.transforms import count_matches, language_caps, over_cap_counts, sum_count_blobs
from wit_builder.io.chunks import Chunk
from wit_builder.io.json_files import write_json
from wit_builder.publish.release_files import write_release_files
from wit_builder.report.balance import SHARD_WORDING, write_balance_report
from wit_builder.shard.manifest import build_manifest
from wit_builder.shard.placement import index_digits, shard_count, shard_digits
from wit_builder.shard.scatter import ERRORS, CountKeptFn, ScatterFn
from wit_builder.shard.settings import ShardInputs, ShardPlan, ShardRules
from wit_builder.shard.writer import KEPT, WriteShardFn
from wit_builder.stage_stats import STATS, run_once

SHARD_FILE = re.compile(r"^\d+\.(tar|parquet)$")
# Why a sample that came in is not in a tar (besides the cap): unit or file unreadable, no image
# bytes, an image format a tar member cannot name, the same uid in two inputs.
REJECTIONS = ("unreadable", "missing_image", "bad_image_format", "duplicate_uid", "taken_down")
RARE_REJECTIONS = ("malformed_matches", "curated_out")  # in stats.json only when it happened: a file another tool wrote


def make_plan(totals: tuple[int, float], settings: ShardRules, fingerprint: str) -> ShardPlan:
    samples, tar_bytes = totals
    shards = shard_count(samples, tar_bytes, settings.samples_per_shard, settings.shard_bytes)
    return ShardPlan(shards, f"{fingerprint}-{shards}")


def largest_shard(sizes: Iterable[int]) -> int:
    return max(sizes, default=0)


def key_digits(plan: ShardPlan, largest: int) -> tuple[int, int]:
    """The widths of a sample key's two parts: shard number and place in the shard."""
    return shard_digits(plan.shards), index_digits(largest)


def sum_pairs(pairs: Iterable[tuple[int, float]]) -> tuple[int, float]:
    samples, tar_bytes = 0, 0.0
    for count, size in pairs:
        samples += count
        tar_bytes += size
    return samples, tar_bytes


def stage_stats(settings: ShardRules, inputs: ShardInputs, stats: dict, errors: list, queries: dict) -> dict:
    """``stats.json``: samples in (the readable files' rows, by their footers) = written (the
    records put into tars) + capped + rejected by reason, and what was read."""
    rejected = {reason: stats.get(f"rejected:{reason}", 0) for reason in REJECTIONS}
    rejected |= {reason: stats[f"rejected:{reason}"] for reason in RARE_REJECTIONS if stats.get(f"rejected:{reason}")}
    written, capped = stats.get("written", 0), stats.get("capped", 0)
    samples_in = sum(inputs.rows)
    first_error = dict(reversed([*inputs.unreadable, *sorted(errors)]))  # a file both passes failed on: once
    unreadable = [{"path": path, "error": error} for path, error in sorted(first_error.items())]
    adds_up = samples_in == written + capped + sum(rejected.values())
    return {
        "inputs": {"sample_files": len(inputs.files) + len(inputs.unreadable), "queries": inputs.queries},
        "rules": settings.output_fields(),
        "samples_in": samples_in,
        "samples_read": stats.get("samples_read", 0),  # rows the scatter step read (or gave up on)
        "written": written,
        "capped": capped,
        "rejected": rejected,
        "adds_up": adds_up,
        "units": {"resumed": stats.get("units_resumed", 0)},
        "shards_resumed": stats.get("shards_resumed", 0),
        "unreadable_files": unreadable,
        "queries": queries,
        "files_read": len(inputs.files),
    }


def finish(
    out_dir: str,
    settings: ShardRules,
    inputs: ShardInputs,
    upstream: dict,
    plan: ShardPlan,
    digits: tuple[int, int],
    shards: list[dict],
    stats: dict,
    errors: list,
    queries: dict,
    release: dict | None = None,
) -> dict:
    """Write stats.json, sizes.json and the report, remove work runs and shards of an earlier
    plan, the release files (croissant.json, README.md: ``publish``), and manifest.json last:
    the commit point of the stage."""
    out = out_dir.rstrip("/")
    filesystem, _ = fsspec.core.url_to_fs(out)
    report = stage_stats(settings, inputs, stats, errors, queries)
    report["shards"], report["bytes"] = len(shards), sum(shard["bytes"] for shard in shards)
    write_json(f"{out}/stats.json", report, ensure_ascii=False, schema="stats.shard")
    sizes = {shard["name"]: shard["samples"] for shard in sorted(shards, key=_name)}
    write_json(f"{out}/sizes.json", sizes, ensure_ascii=False, schema="sizes")
    write_balance_report(out, SHARD_WORDING, "shard")
    names = {shard["name"] for shard in shards} | {shard["name"][: -len(".tar")] + ".parquet" for shard in shards}
    for path in filesystem.ls(out, detail=False):
        name = path.rstrip("/").rsplit("/", 1)[-1]
        if SHARD_FILE.match(name) and name not in names:
            filesystem.rm(path)  # a shard of an earlier run with more shards
    if filesystem.exists(f"{out}/work/runs"):
        filesystem.rm(f"{out}/work/runs", recursive=True)  # as large as the data set; the tars are done
    manifest = build_manifest(shards, settings.as_dict(), plan.fingerprint, digits, out, upstream)
    manifest["inputs_fingerprint"] = inputs.fingerprint(settings)
    manifest["release"] = release or {}
    if settings.pool:
        manifest["online_balance"] = online_balance_entry(out, settings, manifest["shards"], queries)
    write_release_files(out, manifest)
    write_json(f"{out}/manifest.json", manifest, ensure_ascii=False, schema="manifest")
    return report


def online_balance_entry(out: str, settings: ShardRules, shards: list[dict], queries: dict) -> dict:
    """The manifest's ``online_balance``: the draw ``wit-train --online-balance`` makes each
    epoch (``capping.online``): t per language, the capped queries with their matched count
    and keep probability (from this set's own balance report), and the samples an epoch is
    expected to keep, per shard and in all (what the trainer's schedule counts on)."""
    from wit_builder.capping.online import OnlineBalance
    from wit_builder.schemas import read_table
    from wit_builder.shard.pool import capped_queries, expected_per_shard

    report = read_table(f"{out}/report/balance.parquet", "balance_report")
    capped = capped_queries(report)
    languages = queries.get("languages") or {}
    thresholds = {lang: found["t"] for lang, found in sorted(languages.items())} or {"*": settings.per_query}
    expected = expected_per_shard(out, sorted(shards, key=_name), OnlineBalance({key: p for key, _, p in capped}))
    return {
        "rule": "Meta CLIP 2: a sample is kept in epoch e when any matched query q keeps it, "
        "draw(epoch_seed(seed, e), q, uid) < min(1, t / matched_q)",
        "seed": settings.seed,
        "per_query": settings.per_query,
        "t": thresholds,
        "capped": [[key, matched, p] for key, matched, p in capped],
        "expected_samples": round(sum(expected.values()), 3),
        "expected_per_shard": {name: round(value, 3) for name, value in expected.items()},
    }


def _name(shard: dict) -> str:
    return shard["name"]


class ShardSamples(beam.PTransform):
    """The shard stage over a PCollection of ``Chunk``s (units) of the sample files ``inputs``
    describes (``shard.inputs.describe_inputs`` makes both).

    Writes the tars and their indexes under ``out_dir`` (image bytes never travel through Beam,
    see ``scatter.py``) and returns ``{"shards": one dict per tar written, "stats": (name,
    total), "errors": (path, error), "matched" / "kept": per-query count blobs, "plan": the
    ShardPlan, "digits": the name widths}``: what the runner's ``finish`` turns into
    ``stats.json``, the report and the manifest.
    """

    def __init__(self, inputs: ShardInputs, rules: ShardRules, out_dir: str):
        super().__init__()
        self.inputs = inputs
        self.rules = rules
        self.out_dir = out_dir

    def expand(self, chunks: beam.PCollection) -> dict[str, beam.PCollection]:
        inputs, settings, out_dir = self.inputs, self.rules, self.out_dir
        rules = settings.balance_rules
        # Create reshuffles its elements already (reshuffle=True): the files spread over workers.
        paths = chunks.pipeline | "SampleFiles" >> beam.Create(list(inputs.files))
        matched, count_errors = count_matches(paths, rules, schema="samples")
        caps = language_caps(matched, rules)  # per language where the samples carry one
        thresholds = pvalue.AsSingleton(caps)
        if settings.pool:  # the whole pool is written; the trainer draws from it each epoch
            over_cap = pvalue.AsDict(chunks.pipeline | "NothingCapped" >> beam.Create([]))
        else:
            over_cap = pvalue.AsDict(over_cap_counts(matched, rules, thresholds))
        units = chunks | "SpreadUnits" >> beam.Reshuffle()
        kept = (
            units
            | "CountKept" >> beam.ParDo(CountKeptFn(settings), over_cap, thresholds)
            | "SumKeptSamples" >> beam.CombineGlobally(sum_pairs).as_singleton_view()
        )
        plan = run_once(chunks.pipeline, "Plan", make_plan, kept, settings, inputs.fingerprint(settings))
        scattered = units | "Scatter" >> beam.ParDo(
            ScatterFn(settings, out_dir, inputs.taken_down, inputs.curated_out),
            over_cap,
            pvalue.AsSingleton(plan),
            thresholds,
        ).with_outputs(STATS, ERRORS, main="segments")
        largest = (
            scattered.segments
            | "SegmentSizes" >> beam.Map(lambda item: (item[0], item[1].count))
            | "ShardSizes" >> beam.CombinePerKey(sum)
            | "Sizes" >> beam.Values()
            | "Largest" >> beam.CombineGlobally(largest_shard).as_singleton_view()
        )
        digits = run_once(chunks.pipeline, "KeyDigits", key_digits, pvalue.AsSingleton(plan), largest)
        written = (
            scattered.segments
            | "GroupByShard" >> beam.GroupByKey()
            | "WriteShards"
            >> beam.ParDo(
                WriteShardFn(settings, out_dir), pvalue.AsSingleton(plan), pvalue.AsSingleton(digits)
            ).with_outputs(STATS, KEPT, main="shards")
        )
        kept = written[KEPT] | "SumKeptPerQuery" >> sum_count_blobs(rules)
        stats = (
            (scattered[STATS], written[STATS]) | "AllStats" >> beam.Flatten() | "SumStats" >> beam.CombinePerKey(sum)
        )
        errors = (count_errors, scattered[ERRORS]) | "AllErrors" >> beam.Flatten()
        return {
            "shards": written.shards,
            "stats": stats,
            "errors": errors,
            "matched": matched,
            "caps": caps,
            "kept": kept,
            "plan": plan,
            "digits": digits,
        }


def build_pipeline(
    pipeline: beam.Pipeline,
    inputs: ShardInputs,
    chunks: list[Chunk],
    settings: ShardRules,
    out_dir: str,
    upstream: dict,
    release: dict | None = None,
):
    """The ``wit-builder shard`` pipeline: the shards, then the report and ``finish``."""
    units = pipeline | "Units" >> beam.Create(chunks, reshuffle=False)  # ShardSamples spreads them
    sharded = units | "Shard" >> ShardSamples(inputs, settings, out_dir)
    queries = per_query_report(
        sharded["matched"], sharded["kept"], inputs.queries, settings.balance_rules, out_dir, sharded["caps"]
    )
    return run_once(
        pipeline,
        "Finish",
        finish,
        out_dir,
        settings,
        inputs,
        upstream,
        pvalue.AsSingleton(sharded["plan"]),
        pvalue.AsSingleton(sharded["digits"]),
        pvalue.AsList(sharded["shards"]),
        pvalue.AsDict(sharded["stats"]),
        pvalue.AsList(sharded["errors"]),
        pvalue.AsSingleton(queries),
        release=release or {},
    )
