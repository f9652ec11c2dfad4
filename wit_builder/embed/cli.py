"""``wit-builder embed``: every kept sample's image and text embeddings under one model.

The model is loaded and checked before anything is read (``models.describe_model``: a missing,
corrupt or mismatched model is one line, exit 2 or 1, with nothing written), then the
evaluation sets are embedded (``eval_embeddings``), then the samples, through Beam's
RunInference (``pipeline``).
"""

from __future__ import annotations

from collections.abc import Sequence

from wit_builder import stages
from wit_builder.embed.settings import EmbedSettings
from wit_builder.wording import counted


def run(settings: EmbedSettings, beam_args: Sequence[str]) -> int:
    import fsspec
    import torch

    from wit_builder.embed.eval_embeddings import embed_eval_sets
    from wit_builder.embed.models import describe_model, load_embedder, resolve_device
    from wit_builder.embed.pipeline import build_pipeline
    from wit_builder.io.chunks import plan_chunks, require_readable
    from wit_builder.io.stage_folders import check_out, clear_outputs, input_files, is_owned
    from wit_builder.progress import Progress, files_in
    from wit_builder.stage_run import run_pipeline
    from wit_builder.stderr import warn_skipped
    from wit_builder.train.precision import resolve_precision

    source_stage = stages.main_input("embed")
    found = input_files("--samples", settings.samples, source_stage.name, source_stage.data)
    check_out(settings.out, "embed")
    files, unreadable = require_readable(found, "samples", "samples (the download stage's output)")
    device = resolve_device(settings.device)
    precision = resolve_precision(settings.precision, torch.device(device))
    model = settings.model or settings.open_clip
    source = describe_model(model, settings.pretrained, device, precision)
    print(f"[embed] model {source.name}: {source.embed_dim}-d, weights {source.digest}, on {source.device}", flush=True)
    out = settings.out.rstrip("/")
    chunks = plan_chunks(files, settings.chunk_rows, salt=settings.work_key(source.digest, precision))
    filesystem, _ = fsspec.core.url_to_fs(out)
    current = {chunk.name for chunk in chunks}
    # Embeddings of other chunks (another model, other samples) and every evaluation set's
    # embeddings are this stage's files from an earlier run: made again or left out now.
    clear_outputs(out, "embed", within=("eval_embeddings",))
    for stale in filesystem.glob(f"{out}/embeddings/*.parquet"):
        name = stale.rsplit("/", 1)[-1]
        if name.removesuffix(".parquet") not in current and is_owned(f"embeddings/{name}", "embed"):
            filesystem.rm(stale)  # only a chunk file this stage wrote; a user's file stays
    for folder in ("embeddings", "eval_embeddings"):
        filesystem.makedirs(f"{out}/{folder}", exist_ok=True)
    eval_sets = (
        embed_eval_sets(settings.eval_sets, load_embedder(source), out, settings.batch_size)
        if settings.eval_sets
        else {}
    )
    for name, record in eval_sets.items():
        print(f"[embed] evaluation set {name}: {record['images']:,} images embedded", flush=True)
    total = sum(chunk.rows for chunk in chunks)
    print(f"[embed] {counted(total, 'sample')} in {counted(len(chunks), 'chunk')} -> {out}", flush=True)
    progress = Progress("chunks embedded", len(chunks), files_in(f"{out}/embeddings/*.parquet"))
    extra = {
        "eval_sets": eval_sets,
        "batch_size": settings.batch_size,
        "unreadable_files": [{"path": path, "error": error} for path, error in unreadable],
    }
    report, seconds = run_pipeline(
        "embed",
        lambda pipeline: build_pipeline(pipeline, chunks, source, out, settings.batch_size, extra),
        beam_args,
        out,
        progress,
    )
    rate = report["rows_written"] / seconds if seconds else 0.0
    print(
        f"[embed] {report['embedded']:,} of {report['samples_in']:,} samples embedded in {seconds:.1f}s "
        f"({rate:,.0f}/s; {counted(report['chunks_resumed'], 'chunk')} resumed); {report['errors']:,} could not be"
        f"; clip score median {report['clip_score'].get('p50')}",
        flush=True,
    )
    _require_embedded(report)
    warn_skipped("embed", report["unreadable_files"])
    return 0


def _require_embedded(report: dict) -> None:
    from wit_builder.kept_checks import require_kept

    reasons = {"decode_error": report["errors"]} if report["errors"] else {}
    require_kept(report["embedded"], report["samples_in"], reasons, "samples", "see stats.json's error_examples")
