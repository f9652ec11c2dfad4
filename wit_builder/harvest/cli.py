"""``wit-builder harvest``: flags from ``HarvestSettings``, and the thin runner around the pipeline."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from wit_builder.harvest.settings import HarvestSettings

SETTINGS = HarvestSettings


def _layout(settings: HarvestSettings):
    from wit_builder.harvest.sources import PRESETS, ListLayout

    if settings.pairs_format in PRESETS:
        return PRESETS[settings.pairs_format]
    if settings.pairs_format == "auto" and not (settings.url_column or settings.caption_column):
        return None
    kind = None if settings.pairs_format == "auto" else settings.pairs_format
    return ListLayout(kind or "auto", url=settings.url_column or "url", text=settings.caption_column or "caption")


def _wat_files(patterns: Sequence[str], prefix: str | None, limit: int | None) -> list[str]:
    from wit_builder.harvest.sources import wat_paths_listing
    from wit_builder.io.paths import expand_globs

    files: list[str] = []
    for pattern in patterns:
        if pattern.endswith(("paths.gz", ".paths")):
            files.extend(wat_paths_listing(pattern, prefix))
        else:
            files.extend(expand_globs([pattern]))
    return files[:limit] if limit else files


def run(settings: HarvestSettings, beam_args: Sequence[str]) -> int:
    from wit_builder.harvest.pipeline import HarvestInputs, build_pipeline
    from wit_builder.io.paths import expand_globs
    from wit_builder.stage_run import replace_outputs, run_pipeline

    if not settings.wat and not settings.pairs:
        print("wit-builder harvest: give --wat and/or --pairs", file=sys.stderr)
        return 2
    try:
        inputs = HarvestInputs(
            queries=settings.queries,
            wat_files=tuple(_wat_files(settings.wat, settings.wat_prefix, settings.wat_limit)),
            list_files=tuple(expand_globs(list(settings.pairs))) if settings.pairs else (),
            list_layout=_layout(settings),
        )
    except FileNotFoundError as error:
        print(f"wit-builder harvest: {error}", file=sys.stderr)
        return 1
    rules, out = settings.rules, settings.out.rstrip("/")
    replace_outputs(out, ("candidates",))  # this stage's own output: a re-run replaces it whole
    print(f"[harvest] {len(inputs.wat_files)} WAT file(s), {len(inputs.list_files)} list file(s) -> {out}", flush=True)
    report, seconds = run_pipeline(lambda pipeline: build_pipeline(pipeline, inputs, rules, out), beam_args, out)
    dropped = ", ".join(f"{reason} {n}" for reason, n in report["dropped"].items() if n)
    print(
        f"[harvest] {report['kept']} of {report['pairs_read']} pairs kept in {seconds:.1f}s; "
        f"dropped: {dropped or 'none'}"
    )
    return 0
