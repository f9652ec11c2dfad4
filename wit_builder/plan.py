"""What a run will take before it starts: ``wit-builder run --plan``.

A data engineer about to spend a cluster budget wants the size of each stage's work, its
output, and its price, before anything runs. The planner reads only what is cheap to read:

- the inputs the config names: the wiki dumps' and WAT files' sizes, a ``wat.paths.gz``
  listing's line count (times a Common Crawl WAT file's typical size), each URL+caption
  list's rows (a Parquet footer; a text list's lines, or its size times rows per byte when
  it is remote or large);
- the measured per-core rates of ``benchmarks/rates.json`` (next to ``RESULTS.md``): per
  stage a fixed cost in seconds, units per core-second (and the cores one worker keeps busy:
  the download's image pool), the share of units that come out, and bytes written per output.

Each stage's input is the one before it's estimated output, so the estimate is a chain of
products, and a rate that is wrong for a data set (the demo world's match yield, say) moves
every later row. The rates file says where each figure came from; measure a sample and pass
``--rates`` for a real collection.

Estimates per stage: units in and out, bytes written, vCPU-hours (core-seconds / 3600), the
wall time on W workers (fixed + core-seconds / W), and a price: vCPU-hours times
``--price-vcpu-hour`` plus the GB written times ``--price-gb`` (one month of storage).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec

RATES_FILE = Path(__file__).resolve().parents[1] / "benchmarks" / "rates.json"
_LISTING = ("paths.gz", ".paths")
_COUNT_LINES_UP_TO = 64 * 2**20  # a local text list up to this size has its lines counted
GB = 1e9


@dataclass(frozen=True)
class StageEstimate:
    stage: str
    unit: str
    units_in: float
    units_out: float
    bytes_written: float
    vcpu_hours: float
    wall_seconds: float
    cost: float


def load_rates(path: str | Path | None = None) -> dict[str, Any]:
    """The rates file (``benchmarks/rates.json`` by default); a missing or malformed one is
    an error naming it."""
    path = Path(path) if path else RATES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no rates file (give --rates FILE; benchmarks/rates.json is the measured one)")
    rates = json.loads(path.read_text())
    if not isinstance(rates.get("stages"), Mapping):
        raise ValueError(f"{path}: not a rates file (no 'stages' table)")
    return rates


def _sizes(patterns: Sequence[str]) -> list[tuple[str, int]]:
    from wit_builder.io.paths import expand_globs

    found = []
    for path in expand_globs(patterns):
        filesystem, inner = fsspec.core.url_to_fs(path)
        found.append((path, int(filesystem.size(inner) or 0)))
    return found


def dump_units(patterns: Sequence[str], rates: Mapping[str, Any]) -> float:
    """Dump bytes as bz2 bytes (an uncompressed .xml counts 1/ratio of its size)."""
    ratio = rates.get("uncompressed_per_byte", 1.0)
    return sum(size if path.endswith((".bz2", ".gz")) else size / ratio for path, size in _sizes(patterns))


def _listing_lines(path: str) -> int:
    with fsspec.open(path, "rb", compression="gzip" if path.endswith(".gz") else None) as handle:
        return sum(1 for line in handle if line.strip())


def wat_links(patterns: Sequence[str], rates: Mapping[str, Any]) -> float:
    """Image links in the WAT inputs: their gzipped bytes times links per byte; a listing's
    entries count as Common Crawl WAT files of typical size."""
    total_bytes = 0.0
    for pattern in patterns:
        if pattern.endswith(_LISTING):
            total_bytes += _listing_lines(pattern) * rates["common_crawl_wat_bytes"]
        else:
            total_bytes += sum(size for _, size in _sizes([pattern]))
    return total_bytes * rates["wat_links_per_byte"]


def list_rows(patterns: Sequence[str], rates: Mapping[str, Any]) -> float:
    """Rows of URL+caption lists: Parquet footers; a text list's lines (its size times rows
    per byte when remote or over 64 MiB)."""
    import pyarrow.parquet as pq

    rows = 0.0
    for path, size in _sizes(patterns):
        if path.endswith(".parquet"):
            with fsspec.open(path, "rb") as handle:
                rows += pq.ParquetFile(handle).metadata.num_rows
        elif os.path.isfile(path) and size <= _COUNT_LINES_UP_TO and not path.endswith(".gz"):
            with open(path, "rb") as handle:
                lines = sum(1 for line in handle if line.strip())
            rows += max(0, lines - (1 if path.endswith((".tsv", ".csv")) else 0))  # a header line
        else:
            rows += size * rates["list_rows_per_byte"]
    return rows


def stage_estimate(
    stage: str, rates: Mapping[str, Any], units_in: float, workers: int, prices: tuple[float, float], **scale: float
) -> StageEstimate:
    """One stage's estimate from its units in and its entry of the rates file (``bytes_scale``:
    bytes per output times this; ``bytes_in``: bytes that pass through, as the shard's images)."""
    out = units_in * rates["out_per_unit"]
    if "out_cap" in rates:
        out = min(out, rates["out_cap"])
    if "bytes_per_out" in rates:
        bytes_written = out * rates["bytes_per_out"] * scale.get("bytes_scale", 1.0)
    else:  # shard: the samples' own bytes, plus tar and index overhead
        bytes_written = scale.get("bytes_in", 0.0) + out * rates.get("overhead_bytes_per_out", 0)
    core_seconds = units_in / rates["units_per_core_second"]
    vcpu_hours = core_seconds / 3600
    price_vcpu, price_gb = prices
    return StageEstimate(
        stage=stage,
        unit=rates["unit"],
        units_in=units_in,
        units_out=out,
        bytes_written=bytes_written,
        vcpu_hours=vcpu_hours,
        wall_seconds=rates["fixed_seconds"] + core_seconds / (max(1, workers) * rates.get("cores_per_worker", 1)),
        cost=vcpu_hours * price_vcpu + bytes_written / GB * price_gb,
    )


@dataclass(frozen=True)
class StageWork:
    """What a stage's estimator says of its input: how many units (the rates file's ``unit``),
    and how its bytes scale (``bytes_scale``: bytes per output times this; ``bytes_in``: bytes
    that pass through, as the shard's images)."""

    units_in: float
    bytes_scale: float = 1.0
    bytes_in: float = 0.0


# The estimators of the built-in stages, named by their entries in ``wit_builder.stages``
# (``Stage.estimate``). An estimator takes the stage's settings, its entry of the rates file and
# the estimate of the stage it reads (None for a stage that reads none) and returns its work.


def queries_work(settings: Any, rates: Mapping[str, Any], upstream: StageEstimate | None) -> StageWork:
    """The dumps' bytes (as bz2 bytes)."""
    return StageWork(dump_units(settings.wiki_dump, rates))


def harvest_work(settings: Any, rates: Mapping[str, Any], upstream: StageEstimate | None) -> StageWork:
    """The image links of the WAT files and the rows of the URL+caption lists (the query list's
    size does not change the work much: the matcher's cost is per caption)."""
    links = wat_links(settings.wat, rates) if settings.wat else 0.0
    return StageWork(links + (list_rows(settings.pairs, rates) if settings.pairs else 0.0))


def upstream_work(settings: Any, rates: Mapping[str, Any], upstream: StageEstimate | None) -> StageWork:
    """What the stage it reads puts out (balance: the harvested pairs)."""
    return StageWork(upstream.units_out if upstream else 0.0)


def download_work(settings: Any, rates: Mapping[str, Any], upstream: StageEstimate | None) -> StageWork:
    """The balanced pairs; bytes per image grow with the pixels asked for."""
    scale = (settings.rules.image.image_size / rates["bytes_per_out_at"]) ** 2
    return StageWork(upstream.units_out if upstream else 0.0, bytes_scale=scale)


def shard_work(settings: Any, rates: Mapping[str, Any], upstream: StageEstimate | None) -> StageWork:
    """The downloaded images, whose bytes pass into the tars."""
    if upstream is None:
        return StageWork(0.0)
    return StageWork(upstream.units_out, bytes_in=upstream.bytes_written)


def plan_run(
    settings: Mapping[str, Any],
    rates: Mapping[str, Any],
    workers: int = 1,
    price_vcpu_hour: float = 0.05,
    price_gb: float = 0.02,
) -> list[StageEstimate]:
    """The estimate of every configured stage whose registry entry names an estimator and whose
    rates the file holds, in chain order (``settings``: ``chain.chain_settings``'s). Each
    stage's input is the estimated output of the stage it reads (``Stage.reads``' first entry),
    so the estimate is derived from ``wit_builder.stages`` alone: a registered stage with an
    estimator is planned like the built-in ones. ``not_estimated`` says which are left out."""
    from wit_builder import stages

    table = rates["stages"]
    prices = (price_vcpu_hour, price_gb)
    estimates: dict[str, StageEstimate] = {}
    for stage in stages.chain():
        if stage.name not in settings or stage.estimate is None or stage.name not in table:
            continue
        source = next(iter(stage.reads.values()), None)
        work = stages.load(stage.estimate)(settings[stage.name], table[stage.name], estimates.get(source))
        estimates[stage.name] = stage_estimate(
            stage.name, table[stage.name], work.units_in, workers, prices,
            bytes_scale=work.bytes_scale, bytes_in=work.bytes_in,
        )  # fmt: skip
    return list(estimates.values())


def not_estimated(settings: Mapping[str, Any], rates: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(stage, why) of each configured stage that ``plan_run`` leaves out, in chain order."""
    from wit_builder import stages

    left = []
    for stage in stages.chain():
        if stage.name not in settings:
            continue
        if stage.estimate is None:
            left.append((stage.name, "its registry entry names no estimate"))
        elif stage.name not in rates["stages"]:
            left.append((stage.name, "the rates file has no entry for it"))
    return left


def _amount(value: float) -> str:
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def format_plan(
    estimates: Sequence[StageEstimate],
    workers: int,
    prices: tuple[float, float],
    left_out: Sequence[tuple[str, str]] = (),
) -> str:
    """The estimate as a table a person reads before starting, with a total line, and the
    configured stages it does not cover (``not_estimated``) named with why."""
    rows = [("stage", "in", "unit", "out", "written", "vCPU-h", f"wall on {workers}", "cost")]
    for e in estimates:
        rows.append(
            (
                e.stage,
                _amount(e.units_in),
                e.unit,
                _amount(e.units_out),
                f"{_amount(e.bytes_written)}B",
                f"{e.vcpu_hours:.3g}",
                _duration(e.wall_seconds),
                f"${e.cost:,.2f}",
            )
        )
    rows.append(
        (
            "total",
            "",
            "",
            "",
            f"{_amount(sum(e.bytes_written for e in estimates))}B",
            f"{sum(e.vcpu_hours for e in estimates):.3g}",
            _duration(sum(e.wall_seconds for e in estimates)),
            f"${sum(e.cost for e in estimates):,.2f}",
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    price_vcpu, price_gb = prices
    lines.append(f"(rates: benchmarks/rates.json; ${price_vcpu}/vCPU-hour, ${price_gb}/GB stored)")
    if left_out:
        lines.append("not estimated: " + "; ".join(f"{stage} ({why})" for stage, why in left_out))
    return "\n".join(lines)
