"""``wit-builder curate``: every embedded sample's fate under the rules that read embeddings
(``curation.filters``), written beside the embeddings' chunks as ``curation/CHUNK.parquet``.

Its rules are global (a quantile over all scores, k-means over all images), so it runs in one
process rather than as a Beam pipeline: it holds the image embeddings as float32 (N × d × 4
bytes: 2 GB for 10⁶ samples of 512 dimensions) and the scores; SemDeDup's own memory grows with
the centroids and the largest cluster (``curation.semantic_dedup``). Changing a threshold
re-runs this stage alone, not the embedding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from wit_builder import stages
from wit_builder.curate.settings import CurateSettings
from wit_builder.wording import counted

SHOWN = 8  # lowest- and highest-scoring samples, and duplicate groups, named in stats.json for the report
CLUSTERS_SHOWN = 6


def run(settings: CurateSettings, _beam_args: Sequence[str] = ()) -> int:
    import time

    import fsspec

    from wit_builder.curation.filters import decide
    from wit_builder.io.chunks import require_readable
    from wit_builder.io.json_files import read_json_if_present, write_json
    from wit_builder.io.stage_folders import check_out, clear_outputs, input_files
    from wit_builder.kept_checks import require_kept

    started = time.monotonic()
    source = stages.main_input("curate")
    found = input_files("--embeddings", settings.embeddings, source.name, source.data)
    check_out(settings.out, "curate")
    files, unreadable = require_readable(found, "embeddings", "embeddings (the embed stage's output)")
    folders = sorted({file.path.rsplit("/embeddings/", 1)[0] for file in files if "/embeddings/" in file.path})
    table = _read_embeddings([file.path for file in files])
    eval_sets = _read_eval_sets(folders)
    embed_stats = [read_json_if_present(f"{folder}/stats.json") or {} for folder in folders]
    models = sorted({s["model"]["digest"] for s in embed_stats if isinstance(s.get("model"), dict)})
    if len(models) > 1:
        from wit_builder.errors import UsageError

        raise UsageError(
            f"--embeddings: the files come from {len(models)} models ({', '.join(models)}); "
            "their scores cannot be compared"
        )
    uids = table.column("uid").to_pylist()
    langs = table.column("lang").to_pylist()
    scores = table.column("clip_score").to_numpy(zero_copy_only=False).astype(np.float64)
    failed = np.isnan(scores)
    images = _matrix(table.column("image_emb"), failed)
    print(
        f"[curate] {counted(len(uids), 'sample')} ({images.shape[1]}-d) from {counted(len(files), 'file')}, "
        f"{counted(sum(len(ids) for ids, _ in eval_sets.values()), 'evaluation image')}",
        flush=True,
    )
    decisions = decide(uids, langs, scores, images, failed, settings.rules, eval_sets)
    out = settings.out.rstrip("/")
    clear_outputs(out, "curate", within=("curation",))
    filesystem, _ = fsspec.core.url_to_fs(out)
    filesystem.makedirs(f"{out}/curation", exist_ok=True)
    _write_decisions(out, files, table, decisions)
    statuses = Counter(decisions.status.tolist())
    stats = _stats(
        settings, uids, scores, decisions, statuses, embed_stats, eval_sets, unreadable, time.monotonic() - started
    )
    write_json(f"{out}/stats.json", stats, schema="stats.curate")
    dropped = ", ".join(f"{name} {n:,}" for name, n in sorted(statuses.items()) if name != "ok") or "none dropped"
    print(f"[curate] {statuses.get('ok', 0):,} of {len(uids):,} samples kept; {dropped}", flush=True)
    require_kept(statuses.get("ok", 0), len(uids), {k: v for k, v in statuses.items() if k != "ok"}, "samples",
                 "loosen the thresholds (see stats.json)")  # fmt: skip
    return 0


def _read_embeddings(paths: Sequence[str]) -> pa.Table:
    from wit_builder.schemas import read_table

    return pa.concat_tables([read_table(path, "embeddings").select(["uid", "lang", "clip_score", "image_emb"])
                             for path in paths])  # fmt: skip


def _matrix(column: pa.ChunkedArray, failed: np.ndarray) -> np.ndarray:
    """The image embeddings as an N × d float32 matrix (zeros where a sample has none)."""
    rows = column.to_pylist() if column.null_count else None
    if rows is None:
        flat = pa.concat_arrays([chunk.flatten() for chunk in column.chunks]) if column.num_chunks else pa.array([])
        values = flat.to_numpy(zero_copy_only=False).astype(np.float32)
        width = len(values) // max(len(failed), 1)
        return values.reshape(len(failed), width)
    width = max((len(r) for r in rows if r is not None), default=0)
    matrix = np.zeros((len(rows), width), np.float32)
    for i, row in enumerate(rows):
        if row is not None:
            matrix[i] = row
    return matrix


def _read_eval_sets(folders: Sequence[str]) -> dict[str, tuple[list[str], np.ndarray]]:
    import fsspec

    from wit_builder.schemas import read_table

    sets: dict[str, tuple[list[str], np.ndarray]] = {}
    for folder in folders:
        filesystem, _ = fsspec.core.url_to_fs(folder)
        for path in sorted(filesystem.glob(f"{folder}/eval_embeddings/*.parquet")):
            table = read_table(path, "eval_embeddings")
            name = path.rsplit("/", 1)[-1].removesuffix(".parquet")
            ids = table.column("id").to_pylist()
            sets[name] = (ids, _matrix(table.column("image_emb"), np.zeros(len(ids), bool)))
    return sets


def _write_decisions(out: str, files, table: pa.Table, decisions) -> None:
    """One file per embeddings file, its rows in the same order."""
    from wit_builder.schemas import load_schema, write_table

    first = 0
    for file in files:
        rows = slice(first, first + file.rows)
        first += file.rows
        name = file.path.rsplit("/", 1)[-1]
        decided = pa.table(
            {
                "uid": table.column("uid").slice(rows.start, file.rows),
                "status": pa.array(decisions.status[rows].tolist(), pa.string()),
                "clip_score": table.column("clip_score").slice(rows.start, file.rows),
                "score": pa.array(decisions.score[rows], pa.float64(), mask=np.isnan(decisions.score[rows])),
                "duplicate_of": pa.array(decisions.duplicate_of[rows], pa.string()),
                "list": pa.array(decisions.eval_set[rows], pa.string()),
                "evidence": pa.array(decisions.evidence[rows], pa.string()),
            }
        )
        write_table(decided.cast(load_schema("curation")), f"{out}/curation/{name}", "curation")


def _stats(settings, uids, scores, decisions, statuses, embed_stats, eval_sets, unreadable, seconds) -> dict:
    """stats.json: counts by status (adding up to the samples in), thresholds, the clip-score
    histogram kept against dropped, and the samples the report shows."""
    finite = np.isfinite(scores)
    kept = decisions.status == "ok"
    low, high = (float(scores[finite].min()), float(scores[finite].max())) if finite.any() else (-1.0, 1.0)
    high = high if high > low else low + 1e-3
    edges = np.linspace(low, high, 31)
    kept_counts, _ = np.histogram(scores[finite & kept], bins=edges)
    dropped_counts, _ = np.histogram(scores[finite & ~kept], bins=edges)
    order = np.argsort(np.where(finite, scores, np.inf), kind="stable")
    ranked = [int(i) for i in order if finite[i]]
    groups: dict[str, list[str]] = {}
    for i, (status, copy) in enumerate(zip(decisions.status, decisions.duplicate_of, strict=True)):
        if status == "semantic_duplicate":
            groups.setdefault(copy, []).append(uids[i])
    largest = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))[:CLUSTERS_SHOWN]
    model = next((s["model"] for s in embed_stats if isinstance(s.get("model"), dict)), None)
    return {
        "model": model,
        "samples_in": len(uids),
        "kept": int(kept.sum()),
        "statuses": dict(sorted(statuses.items())),
        "adds_up": sum(statuses.values()) == len(uids),
        "rules": {
            "clip_score_min": settings.clip_score_min,
            "clip_score_top": settings.clip_score_top,
            "per_language": settings.per_language,
            "eval_similarity": settings.rules.eval_similarity,
            "dedup_epsilon": settings.rules.dedup_epsilon,
            "dedup_clusters": decisions.clusters,
            "seed": settings.seed,
        },
        "thresholds": {name: round(value, 4) for name, value in decisions.thresholds.items()},
        "eval_sets": {name: len(ids) for name, (ids, _) in eval_sets.items()},
        "clip_score": {
            "edges": [round(float(e), 4) for e in edges],
            "kept": kept_counts.tolist(),
            "dropped": dropped_counts.tolist(),
        },
        "lowest": [
            {"uid": uids[i], "clip_score": round(float(scores[i]), 4), "status": decisions.status[i]}
            for i in ranked[:SHOWN]
        ],
        "highest": [
            {"uid": uids[i], "clip_score": round(float(scores[i]), 4), "status": decisions.status[i]}
            for i in ranked[::-1][:SHOWN]
        ],
        "duplicate_groups": [
            {"kept": kept_uid, "duplicates": members[:SHOWN], "size": len(members) + 1} for kept_uid, members in largest
        ],
        "eval_matches": [
            {"uid": uids[i], "image": decisions.duplicate_of[i], "similarity": round(float(decisions.score[i]), 4)}
            for i in np.flatnonzero(decisions.status == "eval_embedding")[:SHOWN]
        ],
        "unreadable_files": [{"path": path, "error": error} for path, error in unreadable],
        "seconds": round(seconds, 2),
    }
