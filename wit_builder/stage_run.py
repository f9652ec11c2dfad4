"""What every stage command does around its pipeline: refuse an --out nested with its inputs,
clear its own stale outputs (never anything else), run the pipeline on the runner the Beam flags
name, and read back its stats.json. (Its inputs and its --out are checked first, and its --out
locked, by ``wit_builder.io.stage_folders``.)"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence

import fsspec

from wit_builder.io.json_files import read_json
from wit_builder.progress import Progress, live_progress


def run_stage_command(stage: str, settings: object, beam_args: Sequence[str]) -> int:
    """One stage, as ``wit-builder STAGE`` and ``wit-builder run`` both run it."""
    from wit_builder import stages
    from wit_builder.io.stage_folders import check_apart

    check_apart(settings)
    return stages.get(stage).run(settings, beam_args)


def replace_outputs(out: str, stage: str, stale: Sequence[str], create: Sequence[str] = ()) -> None:
    """Remove what ``stage`` wrote in the entries ``stale`` of ``out`` on an earlier run (a file
    there that the stage does not write stops the run, with nothing removed: ``clear_outputs``),
    and create the folders the pipeline writes into."""
    from wit_builder.io.stage_folders import clear_outputs

    clear_outputs(out, stage, within=stale)
    filesystem, _ = fsspec.core.url_to_fs(out)
    for folder in create:
        filesystem.makedirs(f"{out}/{folder}", exist_ok=True)


def run_pipeline(
    stage: str, build: Callable, beam_args: Sequence[str], out: str, progress: Progress | None = None
) -> tuple[dict, float]:
    """Run ``build(pipeline)`` to completion, with a live progress line labelled with ``stage``;
    returns the stage's stats.json and the seconds.

    Progress goes to standard output, with the stage's other lines (what it reads, what it kept);
    standard error holds only what went wrong, so a failing stage's error is one line there
    however long it ran before failing, and a slow machine cannot put a progress line first."""
    import apache_beam as beam

    from wit_builder.beam_options import pipeline_options, quick_bundle_ends
    from wit_builder.stderr import workers_quiet

    quick_bundle_ends()
    started = time.monotonic()
    with (
        workers_quiet(beam_args),
        live_progress(stage, progress, stream=sys.stdout),
        beam.Pipeline(options=pipeline_options(beam_args)) as pipeline,
    ):
        build(pipeline)
    seconds = time.monotonic() - started
    return read_json(f"{out.rstrip('/')}/stats.json"), seconds
