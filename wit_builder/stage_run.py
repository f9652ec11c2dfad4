"""What every stage command does around its pipeline: clear its own stale outputs, run the
pipeline on the runner the Beam flags name, and read back its stats.json. (Its inputs and its
--out are checked first, by ``wit_builder.io.stage_folders``.)"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence

import fsspec

from wit_builder.progress import Progress, live_progress


def replace_outputs(out: str, stale: Sequence[str], create: Sequence[str] = ()) -> None:
    """Remove this stage's own output folders from an earlier run (never anything else), and
    create the ones the pipeline writes into."""
    filesystem, _ = fsspec.core.url_to_fs(out)
    for folder in stale:
        if filesystem.exists(f"{out}/{folder}"):
            filesystem.rm(f"{out}/{folder}", recursive=True)
    for folder in create:
        filesystem.makedirs(f"{out}/{folder}", exist_ok=True)


def run_pipeline(
    build: Callable, beam_args: Sequence[str], out: str, progress: Progress | None = None
) -> tuple[dict, float]:
    """Run ``build(pipeline)`` to completion, with a live progress line; returns the stage's
    stats.json and the seconds."""
    import apache_beam as beam

    from wit_builder.beam_options import pipeline_options

    stage = out.rstrip("/").rsplit("/", 1)[-1]
    started = time.monotonic()
    with live_progress(stage, progress), beam.Pipeline(options=pipeline_options(beam_args)) as pipeline:
        build(pipeline)
    seconds = time.monotonic() - started
    with fsspec.open(f"{out.rstrip('/')}/stats.json", "rt", encoding="utf-8") as handle:
        return json.load(handle), seconds
