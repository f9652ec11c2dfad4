"""``wit-builder download``: flags from ``DownloadSettings``, and the thin runner around the pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from wit_builder import stages
from wit_builder.download.settings import DownloadSettings


def run(settings: DownloadSettings, beam_args: Sequence[str]) -> int:
    from wit_builder.download.pipeline import build_pipeline
    from wit_builder.io.chunks import plan_chunks, require_readable
    from wit_builder.io.stage_folders import check_out, input_files
    from wit_builder.progress import Progress, files_in
    from wit_builder.stage_run import replace_outputs, run_pipeline
    from wit_builder.stderr import warn_skipped

    source = stages.main_input("download")
    found = input_files("--pairs", settings.pairs, source.name, source.data)
    check_out(settings.out, "download")
    files, unreadable = require_readable(found, "balanced", "balanced pairs (the balance stage's output)")
    rules = settings.rules
    chunks = plan_chunks(files, settings.chunk_rows, salt=rules.work_key())
    out = settings.out.rstrip("/")
    # samples/ and status/ are recomputed from work/ on every run; work/ is what resumes.
    replace_outputs(out, "download", ("samples", "status"), ("samples", "status", "work/fetched", "work/outcomes"))
    total = sum(chunk.rows for chunk in chunks)
    print(f"[download] {total:,} pairs in {len(chunks)} chunk(s) from {len(files)} file(s) -> {out}", flush=True)
    progress = Progress("chunks fetched", len(chunks), files_in(f"{out}/work/outcomes/*.parquet"))
    report, seconds = run_pipeline(
        lambda pipeline: build_pipeline(pipeline, chunks, rules, out, unreadable), beam_args, out, progress
    )
    statuses = ", ".join(f"{name} {count:,}" for name, count in report["statuses"].items())
    print(
        f"[download] {report['ok']:,} of {report['pairs_in']:,} images kept in {seconds:.1f}s "
        f"({report['chunks_resumed']} chunk(s) resumed); {statuses}"
    )
    warn_skipped("download", report["unreadable_files"])
    return 0
