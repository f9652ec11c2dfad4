"""``wit-builder harvest``: flags from ``HarvestSettings``, and the thin runner around the pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from wit_builder.harvest.settings import HarvestSettings
from wit_builder.wording import counted

PAIR_LISTS = "URL + caption lists (Parquet, TSV/CSV or JSONL with url and caption columns)"


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
    from wit_builder.io.stage_folders import input_files

    files: list[str] = []
    for pattern in patterns:
        if pattern.endswith(("paths.gz", ".paths")):
            files.extend(wat_paths_listing(pattern, prefix))
        else:
            files.extend(input_files("--wat", [pattern], "Common Crawl WAT files (.warc.wat.gz)", None, ""))
    return files[:limit] if limit else files


def run(settings: HarvestSettings, beam_args: Sequence[str]) -> int:
    from wit_builder.errors import StageFailed, UsageError
    from wit_builder.harvest.pipeline import HarvestInputs, build_pipeline
    from wit_builder.io.query_list import check_query_list
    from wit_builder.io.stage_folders import a_few, check_out, input_files
    from wit_builder.stage_run import replace_outputs, run_pipeline
    from wit_builder.stderr import warn_skipped

    if not settings.wat and not settings.pairs:
        raise UsageError("give --wat and/or --pairs")
    check_query_list("--queries", settings.queries, read=False)
    from wit_builder.harvest.pipeline import Blocked

    Blocked(settings.rules.blocklists)  # every list read and checked before any work
    inputs = HarvestInputs(
        queries=settings.queries,
        wat_files=tuple(_wat_files(settings.wat, settings.wat_prefix, settings.wat_limit)),
        list_files=tuple(input_files("--pairs", settings.pairs, PAIR_LISTS, None, "")) if settings.pairs else (),
        list_layout=_layout(settings),
    )
    check_out(settings.out, "harvest")
    check_query_list("--queries", settings.queries)
    rules, out = settings.rules, settings.out.rstrip("/")
    replace_outputs(out, "harvest", ("candidates",))  # this stage's own output: a re-run replaces it whole
    print(f"[harvest] {len(inputs.wat_files)} WAT file(s), {len(inputs.list_files)} list file(s) -> {out}", flush=True)
    report, seconds = run_pipeline(
        "harvest", lambda pipeline: build_pipeline(pipeline, inputs, rules, out), beam_args, out
    )
    dropped = ", ".join(f"{reason} {n}" for reason, n in report["dropped"].items() if n)
    skipped = ", ".join(f"{reason} {n}" for reason, n in report["records_without_pairs"].items() if n)
    print(
        f"[harvest] {report['kept']} of {report['pairs_read']} pairs kept in {seconds:.1f}s; "
        f"dropped: {dropped or 'none'}; records without pairs: {skipped or 'none'}"
        + (
            f"; HTML taken out of {counted(report['captions_html_cleaned'], 'caption')}"
            if report["captions_html_cleaned"]
            else ""
        )
    )
    if not report["pairs_read"]:  # a stage that could read no pair from any input has failed
        files = [*inputs.wat_files, *inputs.list_files]
        named = a_few(files)
        problems = ", ".join(f"{reason} {n}" for reason, n in report["records_without_pairs"].items() if n)
        raise StageFailed(
            f"no pair could be read from {named} ({problems or 'no records'}); --pairs wants {PAIR_LISTS}, "
            "--wat Common Crawl WAT files; see stats.json"
        )
    warn_skipped("harvest", report["unreadable_files"])
    from wit_builder.kept_checks import require_kept

    no_match = max(report["dropped"], key=report["dropped"].get, default=None) == "no_match"
    hint = "no caption holds a query: does the list fit the captions (their language, --case-insensitive)?"
    require_kept(
        report["kept"], report["pairs_read"], report["dropped"], "pairs", hint if no_match else "see stats.json"
    )
    return 0
