"""The harvest stage's settings: its inputs and its rules, with their flags."""

from __future__ import annotations

from dataclasses import dataclass

from wit_builder.harvest.normalise import TextRules
from wit_builder.stage_settings import Settings, nested, option

INPUTS = "inputs (local paths, globs or fsspec URLs; flags may repeat)"
LIST_FORMATS = ("auto", "cc3m", "cc12m", "laion", "datacomp", "parquet", "tsv", "csv", "jsonl")


def extension_set(text: str) -> frozenset[str]:
    """``"jpg, .PNG"`` as ``{"jpg", "png"}``."""
    return frozenset(part.strip().lower().lstrip(".") for part in text.split(",") if part.strip())


@dataclass(frozen=True, kw_only=True)
class HarvestRules(Settings):
    """Which pairs are kept, and how the kept ones are spread over files."""

    text: TextRules = nested(TextRules)
    image_extensions: frozenset[str] | None = option(
        None,
        metavar="LIST",
        parse=extension_set,
        help="keep only URLs whose path ends in one of these, e.g. jpg,jpeg,png,webp (default: any)",
    )
    case_sensitive: bool = option(True, flag="case-insensitive", help="match queries ignoring case")
    blocklists: tuple[str, ...] = option(
        (),
        flag="blocklist",
        metavar="FILE",
        role="input",
        help="a list of image URLs or domains to drop (a file with a '# kind: url' or '# kind: domain' header; "
        "may repeat)",
    )
    output_shards: int | None = option(
        None,
        metavar="N",
        help="candidate files (default: one per input file, at least 8: a file's rows are sorted in one "
        "worker's memory, so their number must grow with the input; give more for one very large list)",
        low=1,
        high=1_000_000,
    )
    languages: tuple[str, ...] | None = option(
        None,
        metavar="CODES",
        parse=lambda text: tuple(sorted({part.strip() for part in text.split(",") if part.strip()})),
        help="worldwide lists: keep only texts identified as these languages, comma-separated (default: every "
        "language the list has)",
    )
    match_english: bool = option(
        False, help="worldwide lists: match every text against the English list too, whatever its language"
    )
    max_captions: int = option(
        1,
        metavar="N",
        help="texts kept per image URL: its N best (by the dedupe's preference), as one image with a list of "
        "captions (1: one pair per URL)",
        low=1,
        high=64,
    )
    min_language_score: float = option(
        0.0,
        metavar="P",
        help="worldwide lists: a text whose language is identified with less confidence is undetermined (und)",
        low=0,
        high=1,
    )


@dataclass(frozen=True, kw_only=True)
class HarvestSettings(Settings):
    """``wit-builder harvest``."""

    queries: str = option(
        metavar="PATH",
        group=INPUTS,
        role="input",
        help="the queries stage's folder, its queries.parquet, or a .txt of one query a line",
    )
    wat: tuple[str, ...] = option(
        (),
        metavar="GLOB",
        group=INPUTS,
        role="input",
        help="Common Crawl WAT files (.warc.wat.gz), or a wat.paths.gz listing",
    )
    wat_prefix: str | None = option(
        None,
        metavar="URL",
        group=INPUTS,
        help="what wat.paths.gz entries are relative to (default: the listing's URL up to crawl-data/)",
    )
    wat_limit: int | None = option(
        None, metavar="N", group=INPUTS, help="read only the first N WAT files (a sample of a crawl)", low=1, high=10**9
    )
    pairs: tuple[str, ...] = option(
        (), metavar="GLOB", group=INPUTS, role="input", help="URL + caption lists: parquet, TSV/CSV, JSONL"
    )
    pairs_format: str = option(
        "auto",
        choices=LIST_FORMATS,
        group=INPUTS,
        help="layout of the lists (auto: from the file name; cc3m/cc12m: headerless TSV)",
    )
    url_column: str | None = option(
        None, metavar="NAME", group=INPUTS, help="the lists' URL column (default: url or URL)"
    )
    caption_column: str | None = option(
        None, metavar="NAME", group=INPUTS, help="the lists' caption column (default: caption or text)"
    )
    out: str = option(metavar="DIR", role="out", help="writes candidates/part-NNNNN.parquet and stats.json")
    rules: HarvestRules = nested(HarvestRules, group="rules")
