"""Run the stages one after another from a pipeline config (``wit-builder run``).

A config is a TOML file (see ``pipelines/``): ``out`` (the run folder), ``beam_args`` (flags
for every Beam stage), and one table per stage whose keys become that stage's flags
(``per_query = 20000`` → ``--per-query 20000``; ``true`` → a bare flag; a list → the flag once
per item). Each stage writes to ``OUT/STAGE`` and reads the previous stage's folder, so only
the sources (dump, pageviews, WordNet, WAT files, URL lists) need naming.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

# Each stage, and which of its input flags takes which earlier stage's output folder.
CHAIN: tuple[tuple[str, Mapping[str, str]], ...] = (
    ("queries", {}),
    ("harvest", {"queries": "queries"}),
    ("balance", {"candidates": "harvest"}),
    ("download", {"pairs": "balance"}),
    ("shard", {"samples": "download", "queries": "queries"}),
    ("tokenizer", {"input": "shard"}),
)


@dataclass(frozen=True)
class StepResult:
    stage: str
    outcome: str  # done, failed (exit N), not run
    out_dir: str
    seconds: float


def stage_dir(out: str, stage: str) -> str:
    """``OUT/STAGE`` for local paths and URLs alike."""
    return f"{str(out).rstrip('/')}/{stage}"


def flags_from_table(table: Mapping[str, Any]) -> list[str]:
    """TOML keys and values as command-line flags."""
    flags: list[str] = []
    for key, value in table.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            flags.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, list):
            for item in value:
                flags += [flag, str(item)]
        else:
            flags += [flag, str(value)]
    return flags


def load_config(path: str | Path) -> dict[str, Any]:
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def run_chain(config: Mapping[str, Any], out: str, beam_args: Sequence[str] = ()) -> list[StepResult]:
    """Run every stage in order until one fails; later ones are 'not run'."""
    from wit_builder.cli import COMMANDS_BY_NAME, main

    beam = [*config.get("beam_args", []), *beam_args]
    results: list[StepResult] = []
    stopped = False
    for stage, inputs in CHAIN:
        out_dir = stage_dir(out, stage)
        if stopped:
            results.append(StepResult(stage, "not run", out_dir, 0.0))
            continue
        argv = [stage, "--out", out_dir]
        for flag, earlier in inputs.items():
            argv += ["--" + flag, stage_dir(out, earlier)]
        argv += flags_from_table(config.get(stage, {}))
        if COMMANDS_BY_NAME[stage].takes_beam_flags:
            argv += beam
        print(f"[run] {stage}: wit-builder {' '.join(argv)}", flush=True)
        started = time.monotonic()
        status = main(argv)
        outcome = "done" if status == 0 else f"failed (exit {status})"
        results.append(StepResult(stage, outcome, out_dir, time.monotonic() - started))
        stopped = status != 0
    return results


def format_results(results: Sequence[StepResult]) -> str:
    """A table a person can read at the end of a run."""
    rows = [("stage", "outcome", "seconds", "output")]
    rows += [(r.stage, r.outcome, f"{r.seconds:.1f}" if r.outcome == "done" else "-", r.out_dir) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def run_command(args, beam_args: Sequence[str]) -> int:
    """``wit-builder run --config TOML [--out DIR] [beam flags]``."""
    from wit_builder.cli import EXIT_ERROR, EXIT_OK

    config = load_config(args.config)
    out = args.out or config.get("out")
    if not out:
        print("wit-builder run: no run folder: give --out or set out in the config", file=sys.stderr)
        return 2
    results = run_chain(config, out, beam_args)
    print(format_results(results))
    last = next((r for r in results if r.outcome != "done"), None)
    if last is None:
        return EXIT_OK
    return EXIT_ERROR
