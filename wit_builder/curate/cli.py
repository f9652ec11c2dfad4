"""``wit-builder curate``: every embedded sample's fate under the rules that read embeddings
(``curation.filters``), written beside the embeddings' chunks as ``curation/CHUNK.parquet``.

The rules are global (a quantile over all scores, k-means over all images), yet no process
holds the N embeddings: the stage is a Beam pipeline that streams them (``curate.pipeline``),
and stats.json is summed from the files it wrote, a few columns at a time. Changing a threshold
re-runs this stage alone, not the embedding.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence

import numpy as np

from wit_builder import stages
from wit_builder.curate.settings import CurateSettings
from wit_builder.wording import counted

SHOWN = 8  # lowest- and highest-scoring samples, and duplicate groups, named in stats.json for the report
CLUSTERS_SHOWN = 6
HISTOGRAM_BINS = 30


def run(settings: CurateSettings, beam_args: Sequence[str] = ()) -> int:
    from wit_builder.curate.pipeline import build_pipeline
    from wit_builder.io.chunks import require_readable
    from wit_builder.io.json_files import read_json_if_present, write_json
    from wit_builder.io.stage_folders import check_out, input_files
    from wit_builder.kept_checks import require_kept
    from wit_builder.progress import Progress, files_in
    from wit_builder.stage_run import replace_outputs, run_pipeline
    from wit_builder.stderr import warn_skipped

    source = stages.main_input("curate")
    found = input_files("--embeddings", settings.embeddings, source.name, source.data)
    check_out(settings.out, "curate")
    files, unreadable = require_readable(found, "embeddings", "embeddings (the embed stage's output)")
    folders = sorted({file.path.rsplit("/embeddings/", 1)[0] for file in files if "/embeddings/" in file.path})
    eval_sets = _read_eval_sets(folders)
    embed_stats = [read_json_if_present(f"{folder}/stats.json") or {} for folder in folders]
    models = sorted({s["model"]["digest"] for s in embed_stats if isinstance(s.get("model"), dict)})
    if len(models) > 1:
        from wit_builder.errors import UsageError

        raise UsageError(
            f"--embeddings: the files come from {len(models)} models ({', '.join(models)}); "
            "their scores cannot be compared"
        )
    samples = sum(file.rows for file in files)
    print(
        f"[curate] {counted(samples, 'sample')} from {counted(len(files), 'file')}, "
        f"{counted(sum(len(ids) for ids, _ in eval_sets.values()), 'evaluation image')}",
        flush=True,
    )
    out = settings.out.rstrip("/")
    replace_outputs(out, "curate", ("curation",), create=("curation",))
    model = next((s["model"] for s in embed_stats if isinstance(s.get("model"), dict)), None)
    context = {
        "samples_in": samples,
        "model": model,
        "eval_sets": {name: len(ids) for name, (ids, _) in eval_sets.items()},
        "unreadable_files": [{"path": path, "error": error} for path, error in unreadable],
    }

    def write_stats(thresholds, plan, written) -> dict:
        stats = summarise(out, [file.path for file in files], settings, thresholds, plan, context)
        write_json(f"{out}/stats.json", stats, schema="stats.curate")
        return stats

    progress = Progress("files decided", len(files), files_in(f"{out}/curation/*.parquet"))
    paths = [file.path for file in files]
    stats, seconds = run_pipeline(
        "curate",
        lambda pipeline: build_pipeline(
            pipeline, paths, settings.rules, eval_sets, out, settings.dedup_sample, write_stats
        ),
        beam_args,
        out,
        progress,
    )
    statuses = stats["statuses"]
    dropped = ", ".join(f"{name} {n:,}" for name, n in sorted(statuses.items()) if name != "ok") or "none dropped"
    print(f"[curate] {statuses.get('ok', 0):,} of {stats['samples_in']:,} samples kept in {seconds:.1f}s; {dropped}",
          flush=True)  # fmt: skip
    warn_skipped("curate", stats["unreadable_files"])
    require_kept(statuses.get("ok", 0), stats["samples_in"], {k: v for k, v in statuses.items() if k != "ok"},
                 "samples", "loosen the thresholds (see stats.json)")  # fmt: skip
    return 0


def _read_eval_sets(folders: Sequence[str]) -> dict[str, tuple[list[str], np.ndarray]]:
    import fsspec

    from wit_builder.curate.pipeline import image_matrix
    from wit_builder.schemas import read_table

    sets: dict[str, tuple[list[str], np.ndarray]] = {}
    for folder in folders:
        filesystem, _ = fsspec.core.url_to_fs(folder)
        for path in sorted(filesystem.glob(f"{folder}/eval_embeddings/*.parquet")):
            table = read_table(path, "eval_embeddings")
            name = path.rsplit("/", 1)[-1].removesuffix(".parquet")
            ids = table.column("id").to_pylist()
            sets[name] = (ids, image_matrix(table.column("image_emb"), len(ids)))
    return sets


def _decided_rows(out: str, paths: Sequence[str]) -> Iterator[tuple[str, str, float, float, str | None]]:
    """(uid, status, clip score, decisive score, duplicate_of) of every decision, in order, read
    a few columns and one batch at a time."""
    from wit_builder.schemas import read_batches

    columns = ["uid", "status", "clip_score", "score", "duplicate_of"]
    for path in paths:
        name = path.rsplit("/", 1)[-1]
        for table in read_batches(f"{out}/curation/{name}", "curation", columns):
            scores = table.column("clip_score").to_numpy(zero_copy_only=False).astype(np.float64)
            decided = table.column("score").to_numpy(zero_copy_only=False).astype(np.float64)
            yield from zip(table.column("uid").to_pylist(), table.column("status").to_pylist(), scores.tolist(),
                           decided.tolist(), table.column("duplicate_of").to_pylist(), strict=True)  # fmt: skip


def summarise(out: str, paths: Sequence[str], settings: CurateSettings, thresholds, plan, context: dict) -> dict:
    """stats.json, from the decision files in two streamed passes: counts by status (adding up
    to the samples in), thresholds, the clip-score histogram kept against dropped, and the
    samples the report shows. Memory: the histogram, the few samples shown, and a count for
    each kept sample that has duplicates."""
    low, high, finite_any = np.inf, -np.inf, False
    for _, _, score, _, _ in _decided_rows(out, paths):
        if np.isfinite(score):
            low, high, finite_any = min(low, score), max(high, score), True
    low, high = (low, high) if finite_any else (-1.0, 1.0)
    high = high if high > low else low + 1e-3
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    kept_counts = np.zeros(HISTOGRAM_BINS, np.int64)
    dropped_counts = np.zeros(HISTOGRAM_BINS, np.int64)
    statuses: dict[str, int] = {}
    groups: dict[str, list] = {}  # kept uid -> [duplicates, the first SHOWN of them]
    eval_matches: list[dict] = []
    lowest: list[tuple[float, int, str, str]] = []
    highest: list[tuple[float, int, str, str]] = []
    for position, (uid, status, score, decided, copy) in enumerate(_decided_rows(out, paths)):
        statuses[status] = statuses.get(status, 0) + 1
        if np.isfinite(score):
            at = min(int(np.searchsorted(edges, score, side="right")) - 1, HISTOGRAM_BINS - 1)
            (kept_counts if status == "ok" else dropped_counts)[at] += 1
            item = (score, position, uid, status)
            lowest = heapq.nsmallest(SHOWN, [*lowest, item])
            highest = heapq.nlargest(SHOWN, [*highest, item])
        if status == "semantic_duplicate":
            group = groups.setdefault(copy, [0, []])
            group[0] += 1
            if len(group[1]) < SHOWN:
                group[1].append(uid)
        elif status == "eval_embedding" and len(eval_matches) < SHOWN:
            eval_matches.append({"uid": uid, "image": copy, "similarity": round(decided, 4)})
    largest = sorted(groups.items(), key=lambda item: (-item[1][0], item[0]))[:CLUSTERS_SHOWN]
    samples = sum(statuses.values())
    return {
        "model": context["model"],
        "samples_in": samples,
        "kept": statuses.get("ok", 0),
        "statuses": dict(sorted(statuses.items())),
        "adds_up": samples == context["samples_in"],  # decisions written against the embeddings' rows read
        "rules": {
            "clip_score_min": settings.clip_score_min,
            "clip_score_top": settings.clip_score_top,
            "per_language": settings.per_language,
            "eval_similarity": settings.rules.eval_similarity,
            "dedup_epsilon": settings.rules.dedup_epsilon,
            "dedup_clusters": plan.clusters if plan is not None else 0,
            "dedup_sample_share": round(plan.share, 6) if plan is not None else None,
            "seed": settings.seed,
        },
        "thresholds": {name: round(value, 4) for name, value in thresholds.items()},
        "eval_sets": context["eval_sets"],
        "clip_score": {
            "edges": [round(float(e), 4) for e in edges],
            "kept": kept_counts.tolist(),
            "dropped": dropped_counts.tolist(),
        },
        "lowest": [_shown(item) for item in lowest],
        "highest": [_shown(item) for item in highest],
        "duplicate_groups": [
            {"kept": kept_uid, "duplicates": shown, "size": size + 1} for kept_uid, (size, shown) in largest
        ],
        "eval_matches": eval_matches,
        "unreadable_files": context["unreadable_files"],
    }


def _shown(item: tuple[float, int, str, str]) -> dict:
    score, _, uid, status = item
    return {"uid": uid, "clip_score": round(score, 4), "status": status}
