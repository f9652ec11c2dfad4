"""Run the stages one after another from a pipeline config (``wit-builder run``).

A config is a TOML file (see ``pipelines/``): ``out`` (the run folder), ``beam_args`` (flags
for every Beam stage), and one table per stage whose keys are that stage's settings, named as
its flags are (``per_query = 20000`` is ``--per-query 20000``; a list gives a repeatable flag
several values). The settings are built from the tables directly (``stage_settings``), not by
way of command lines. Each stage writes to ``OUT/STAGE`` and reads the previous stage's folder, so only
the sources (dump, pageviews, WordNet, WAT files, URL lists) need naming.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
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


def load_config(path: str | Path) -> dict[str, Any]:
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def stage_cli(stage: str) -> ModuleType:
    """The stage's command module: its ``SETTINGS`` class and its ``run(settings, beam_args)``."""
    return importlib.import_module(f"wit_builder.{stage}.cli")


def chain_settings(config: Mapping[str, Any], out: str) -> dict[str, Any]:
    """Every stage's settings, built from its table and wired to the earlier stages' folders.

    All are built before anything runs, so an unknown key or a wrong type anywhere is a
    ``SettingsError`` naming it (``balance.per_query: expected a whole number, got 'many'``)."""
    from wit_builder.stage_settings import SettingsError, from_table

    known = {"out", "beam_args", *(stage for stage, _ in CHAIN)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise SettingsError(f"{unknown[0]}: unknown key (known: {', '.join(sorted(known))})")
    settings = {}
    for stage, wiring in CHAIN:
        table = dict(config.get(stage, {}))
        if "out" in table:
            raise SettingsError(f"{stage}.out: a stage writes to OUT/{stage}; set the run's out at the top instead")
        table["out"] = stage_dir(out, stage)
        for key, earlier in wiring.items():
            table.setdefault(key, stage_dir(out, earlier))
        settings[stage] = from_table(stage_cli(stage).SETTINGS, table, where=stage)
    return settings


def run_chain(config: Mapping[str, Any], out: str, beam_args: Sequence[str] = ()) -> list[StepResult]:
    """Run every stage in order until one fails; later ones are 'not run'."""
    beam = [*config.get("beam_args", []), *beam_args]
    settings = chain_settings(config, out)
    results: list[StepResult] = []
    stopped = False
    for stage, _ in CHAIN:
        out_dir = stage_dir(out, stage)
        if stopped:
            results.append(StepResult(stage, "not run", out_dir, 0.0))
            continue
        print(f"[run] {stage} -> {out_dir}", flush=True)
        started = time.monotonic()
        status = stage_cli(stage).run(settings[stage], beam)
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
    from wit_builder.stage_settings import SettingsError

    config = load_config(args.config)
    out = args.out or config.get("out")
    if not out:
        print("wit-builder run: no run folder: give --out or set out in the config", file=sys.stderr)
        return 2
    try:
        results = run_chain(config, out, beam_args)
    except SettingsError as error:
        print(f"wit-builder run: {args.config}: {error}", file=sys.stderr)
        return 2
    print(format_results(results))
    last = next((r for r in results if r.outcome != "done"), None)
    if last is None:
        return EXIT_OK
    return EXIT_ERROR
