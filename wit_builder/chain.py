"""Run the stages one after another from a pipeline config (``wit-builder run``), resumably.

A config is a TOML file (see ``pipelines/``): ``out`` (the run folder: local, ``gs://`` or
``s3://``), ``beam_args`` (flags for every Beam stage), and one table per stage whose keys are
that stage's settings, named as its flags are (``per_query = 20000`` is ``--per-query 20000``).
The settings are built from the tables directly (``stage_settings``), all of them before any
stage runs. Each stage writes ``OUT/STAGE`` and reads the earlier stages' folders, so only the
sources (dump, pageviews, WordNet, WAT files, URL lists) need naming. ``train`` runs only when
the config has a ``[train]`` table.

Resume: a stage's **key** is the hash of its settings, of a fingerprint of its source files
(``io.fingerprint``: the files its paths resolve to, each file's size and version) and of the
keys of the stages it reads.
A finished stage writes ``OUT/STAGE/_SUCCESS`` holding its key; a re-run skips every stage whose
``_SUCCESS`` key matches. A stage that starts writes ``_RUNNING`` with its key: run again with
the same key, it resumes in its folder (download and shard reuse their finished chunks and
shards; the others redo their work); with another key (a changed setting, or a changed earlier
stage) its folder is emptied of what the stage wrote first, so nothing of the old settings is
reused; a file there that the stage does not write stops the run before any stage starts, with
nothing removed. Keys hash resolved paths: ``out`` given as ``/abs/run`` or as ``run`` is one
folder. The run folder is locked while a run works in it (``io.folder_lock``). Changing one
setting therefore re-runs exactly that stage and the stages after it. ``--from STAGE`` forces
that stage and the later ones to start afresh. A source file added to a glob, removed,
renamed or rewritten in place changes its stage's key on the next run: that stage and every
later one run again, and the run says which input changed.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec

from wit_builder import stages
from wit_builder.io.fingerprint import Fingerprint
from wit_builder.io.stage_folders import read_marker

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SUCCESS, RUNNING = "_SUCCESS", "_RUNNING"


@dataclass(frozen=True)
class StepResult:
    stage: str
    outcome: str  # done, up to date, failed (exit N), not run, not configured
    out_dir: str
    seconds: float


def stage_dir(out: str, stage: str) -> str:
    """``OUT/STAGE`` for local paths and URLs alike."""
    return f"{str(out).rstrip('/')}/{stage}"


def load_config(path: str | Path) -> dict[str, Any]:
    """The TOML config at ``path``; a path that is not a readable TOML file is a ``UsageError``."""
    from wit_builder.errors import UsageError
    from wit_builder.io.stage_folders import holds_other_stage

    wanted = "--config wants a pipeline config (a TOML file, e.g. pipelines/local.toml)"
    target = Path(path)
    if not target.exists():
        raise UsageError(f"--config {path}: no such file or folder; {wanted}")
    if target.is_dir():
        if held := holds_other_stage(str(target)):
            raise UsageError(f"--config {path} {held}; {wanted}")
        raise UsageError(f"--config {path}: is a folder and holds no config; {wanted}")
    try:
        with open(target, "rb") as handle:
            return tomllib.load(handle)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"--config {path}: not a readable TOML file ({type(error).__name__}: {error})") from error


def chain_settings(config: Mapping[str, Any], out: str) -> dict[str, Any]:
    """Every configured stage's settings, built from its table and wired to the earlier
    stages' folders. An unknown key or a wrong type anywhere is a ``SettingsError`` naming it
    (``balance.per_query: expected a whole number, got 'many'``)."""
    from wit_builder.stage_settings import SettingsError, from_table

    known = {"out", "beam_args", *stages.names()}
    unknown = sorted(set(config) - known)
    if unknown:
        raise SettingsError(f"{unknown[0]}: unknown key (known: {', '.join(sorted(known))})")
    beam_args = config.get("beam_args", [])
    if not isinstance(beam_args, list) or not all(isinstance(arg, str) for arg in beam_args):
        raise SettingsError(
            f"beam_args: expected a list of texts (['--runner=DataflowRunner', ...]), got {beam_args!r}"
        )
    if not isinstance(out, str) or not out:
        raise SettingsError(f"out: expected the run folder's path or URL as text, got {out!r}")
    settings = {}
    for entry in stages.chain():
        stage = entry.name
        if entry.optional and stage not in config:
            continue
        table = config.get(stage, {})
        if not isinstance(table, Mapping):
            raise SettingsError(f"{stage}: expected a table ([{stage}]), got {table!r}")
        table = dict(table)
        if "out" in table:
            raise SettingsError(f"{stage}.out: a stage writes to OUT/{stage}; set the run's out at the top instead")
        table["out"] = stage_dir(out, stage)
        if stage == "embed" and table.get("model") == BOOTSTRAP:
            if "train" not in config:
                raise SettingsError(
                    'embed.model = "bootstrap" trains the scoring model with [train]: add a [train] table'
                )
            table["model"] = stage_dir(bootstrap_dir(out), "train")
        for key, earlier in entry.reads.items():
            if stages.get(earlier).optional and earlier not in config:
                continue  # an optional stage this run leaves out: nothing to read from it
            table.setdefault(key, stage_dir(out, earlier))
        settings[stage] = from_table(entry.settings_class(), table, where=stage)
    return settings


def full_config(config: Mapping[str, Any], out: str) -> dict[str, Any]:
    """The config with every default filled in (``--print-config``)."""
    from wit_builder.stage_settings import to_table

    settings = chain_settings(config, out)
    document: dict[str, Any] = {"out": out, "beam_args": list(config.get("beam_args", []))}
    for stage, stage_settings in settings.items():
        table = to_table(stage_settings)
        del table["out"]  # OUT/STAGE, always
        document[stage] = table
    return document


def source_fingerprints(settings: Mapping[str, Any]) -> dict[str, dict[str, Fingerprint]]:
    """Each stage's source inputs, fingerprinted (``io.fingerprint``): every input option not
    wired to an earlier stage's folder (those are stood for by that stage's key), by config key."""
    from wit_builder.io.fingerprint import fingerprint
    from wit_builder.io.paths import canonical_spec
    from wit_builder.stage_settings import flags_of, to_table

    found: dict[str, dict[str, Fingerprint]] = {}
    for entry in stages.chain():
        if entry.name not in settings:
            continue
        table = to_table(settings[entry.name])
        run_folder = canonical_spec(table["out"]).rsplit("/", 1)[0]
        wired = {key for key, earlier in entry.reads.items() if _is_wired(table.get(key), run_folder, earlier)}
        found[entry.name] = {
            flag.key: fingerprint(value if isinstance(value, list) else [value])
            for flag in flags_of(type(settings[entry.name]))
            if flag.how.role == "input" and flag.key not in wired and (value := table.get(flag.key)) not in (None, [])
        }
    return found


def missing_sources(settings: Mapping[str, Any], out: str, to_stage: str | None = None) -> list[str]:
    """``stage.key 'value'`` for every source input (up to ``to_stage``) that names no file,
    all of them, so one look at the config finds every path to fill in; a path inside the run
    folder is left out (an earlier stage will write it)."""
    from wit_builder.io.fingerprint import fingerprint
    from wit_builder.io.paths import canonical, contains
    from wit_builder.stage_settings import flags_of, to_table

    run_folder = canonical(out)
    missing = []
    for entry in stages.chain():
        if entry.name not in settings or entry.name not in stages_up_to(to_stage):
            continue
        table = to_table(settings[entry.name])
        wired = {key for key, earlier in entry.reads.items() if _is_wired(table.get(key), run_folder, earlier)}
        for flag in flags_of(type(settings[entry.name])):
            value = table.get(flag.key)
            if flag.how.role != "input" or flag.key in wired or value in (None, []):
                continue
            for spec in value if isinstance(value, list) else [value]:
                inside = any(contains(run_folder, canonical(part.strip())) for part in str(spec).split("::"))
                if not inside and fingerprint([spec]).files == 0:
                    missing.append(f"{entry.name}.{flag.key} {spec!r}")
    return missing


def _is_wired(value: Any, run_folder: str, earlier: str) -> bool:
    """Whether a setting's value is the earlier stage's folder in this run, however spelled."""
    from wit_builder.io.paths import canonical_spec

    values = value if isinstance(value, list) else [value]
    return len(values) == 1 and isinstance(values[0], str) and canonical_spec(values[0]) == f"{run_folder}/{earlier}"


def stage_keys(
    settings: Mapping[str, Any], sources: Mapping[str, Mapping[str, Fingerprint]] | None = None
) -> dict[str, str]:
    """Each stage's key: its settings, the fingerprints of its source inputs (``sources``, from
    ``source_fingerprints``; computed when not given) and the keys of the stages it reads,
    hashed. Paths enter resolved (``canonical``), so one folder spelled two ways gives one key.
    The run folder does not enter: a stage's ``out`` and the earlier stages' folders it reads
    (as wired, unless the config names another) are stood for by those stages' keys, so a run
    folder moved or copied elsewhere is still up to date. A source file added, removed,
    renamed or rewritten changes the key of its stage, and so of every stage after it."""
    from wit_builder.io.paths import canonical_spec
    from wit_builder.stage_settings import to_table

    sources = source_fingerprints(settings) if sources is None else sources
    keys: dict[str, str] = {}
    for entry in stages.chain():
        stage, wiring = entry.name, entry.reads
        if stage not in settings:
            continue
        table = to_table(settings[stage], canonical_spec)
        run_folder = canonical_spec(table.pop("out")).rsplit("/", 1)[0]
        for key, earlier in wiring.items():
            if _is_wired(table.get(key), run_folder, earlier):
                table[key] = f"<the {earlier} stage's folder>"
        reads = {earlier: keys[earlier] for earlier in sorted(set(wiring.values())) if earlier in keys}
        inputs = {key: print_.digest for key, print_ in sources.get(stage, {}).items()}
        document = {"stage": stage, "settings": table, "reads": reads, **({"inputs": inputs} if inputs else {})}
        keys[stage] = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:24]
    return keys


def _write_marker(folder: str, name: str, document: dict) -> None:

    from wit_builder.io.json_files import write_json

    write_json(f"{folder}/{name}", document)


def _changed_sources(folder: str, now: Mapping[str, Fingerprint]) -> str:
    """``; its inputs changed: --wat 230 → 231 files`` when the stage's last finished run read
    other source files than these, else nothing."""
    done = read_marker(folder, SUCCESS) or {}
    before = done.get("inputs") if isinstance(done.get("inputs"), dict) else None
    if before is None:
        return ""
    changes = [
        f"--{key.replace('_', '-')} {change}"
        for key, value in now.items()
        if (change := value.change_from(before.get(key))) != "unchanged"
    ]
    return f"; its inputs changed since it last finished: {', '.join(changes)}" if changes else ""


def prepare_stage(folder: str, stage: str, key: str, how: str, inputs: Mapping[str, Any] | None = None) -> None:
    """Make ``folder`` ready for a run with ``key``, as ``_plan_stage`` said ("resume": as it
    is; "start", "start afresh": emptied of what the stage wrote, and only of that)."""
    from wit_builder.io.folder_lock import LOCK, lock_out
    from wit_builder.io.stage_folders import CLAIM, clear_outputs

    lock_out(folder)  # before the first removal: a folder another command writes is refused untouched
    filesystem, _ = fsspec.core.url_to_fs(folder)
    if how != "resume":  # a run of other settings: nothing of it is reused, but what the stage keeps
        keeps = stages.get(stage).keeps  # and the claim with them: they are the stage's files
        clear_outputs(folder, stage, keep=(LOCK, *keeps, *((CLAIM,) if keeps else ())))
    filesystem.makedirs(folder, exist_ok=True)
    if filesystem.exists(f"{folder}/{SUCCESS}"):
        filesystem.rm(f"{folder}/{SUCCESS}")
    _write_marker(folder, RUNNING, {"key": key, "inputs": dict(inputs or {})})


def _fresh_stages(settings: Mapping[str, Any], from_stage: str | None, to_stage: str | None = None) -> dict[str, bool]:
    """Each configured stage up to ``--to`` (all, without it), and whether ``--from`` makes it
    start afresh."""
    order = stages_up_to(to_stage)
    first = order.index(from_stage) if from_stage is not None else len(order)
    return {stage: index >= first for index, stage in enumerate(order) if stage in settings}


def stages_up_to(to_stage: str | None) -> tuple[str, ...]:
    """The stages a run with ``--to to_stage`` works on, in order (every stage without it)."""
    order = stages.names()
    return order if to_stage is None else order[: order.index(to_stage) + 1]


def _plan_stage(folder: str, key: str, fresh: bool) -> str:
    """What a run does with a stage's folder: "up to date", "resume", "start" or "start afresh"
    (the last two empty what the stage wrote there)."""
    done, running = read_marker(folder, SUCCESS), read_marker(folder, RUNNING)
    if fresh:
        return "start afresh"
    if done is not None and done.get("key") == key:
        return "up to date"
    if running is not None and running.get("key") == key:
        return "resume"
    return "start"


def _lock_stage_folders(out: str, plan: Mapping[str, str]) -> None:
    """Lock every existing stage folder the run will work in, for the rest of the command, so
    that one written by another command (a standalone stage, a run on another host) stops the
    run before anything is removed anywhere. A folder that does not exist yet is locked when
    its stage starts (``prepare_stage``); creating it now would leave a trace if the run is refused."""
    from wit_builder.io.folder_lock import lock_out

    for stage, what in plan.items():
        folder = stage_dir(out, stage)
        filesystem, _ = fsspec.core.url_to_fs(folder)
        if what != "up to date" and filesystem.isdir(folder):
            lock_out(folder)


def _refuse_foreign_files(out: str, plan: Mapping[str, str]) -> None:
    """``UsageError`` naming the first stage folder the run would empty that holds a file the
    stage does not write."""
    from wit_builder.io.stage_folders import foreign_entries, refuse_foreign

    for stage, what in plan.items():
        if what.startswith("start"):
            folder = stage_dir(out, stage)
            refuse_foreign(folder, stage, foreign_entries(folder, stage), "the run would empty that folder")


def run_chain(
    config: Mapping[str, Any],
    out: str,
    beam_args: Sequence[str] = (),
    from_stage: str | None = None,
    debug: bool = False,
    to_stage: str | None = None,
) -> list[StepResult]:
    """Run the stages in order, skipping those already done with the same key, until one fails
    or ``to_stage`` is done. A stage that raises fails the run with its one-line message (the
    traceback with ``debug``). With ``[embed] model = "bootstrap"`` the scoring model is trained
    first, on the uncurated data (``run_bootstrap``), and the stages after it are keyed again."""
    from wit_builder.io.stage_folders import check_out, claim

    check_stage_range(from_stage, to_stage)
    beam = [*config.get("beam_args", []), *beam_args]
    settings = chain_settings(config, out)
    sources = source_fingerprints(settings)
    keys = stage_keys(settings, sources)
    check_out(out, None, claim_it=False)  # and locks it for this command: one run per folder at a time
    fresh = _fresh_stages(settings, from_stage, to_stage)
    plan = {stage: _plan_stage(stage_dir(out, stage), keys[stage], again) for stage, again in fresh.items()}
    _lock_stage_folders(out, plan)  # before any removal: a stage folder another command writes stops the run
    _refuse_foreign_files(out, plan)  # before any stage runs, so nothing is half done
    claim(out, "run")  # only now: a refused run leaves no trace
    results: list[StepResult] = []
    stopped = False
    order = stages.names()
    shown = _table_stages(settings)
    for index, stage in enumerate(order):
        folder = stage_dir(out, stage)
        if stage not in settings:
            if stage in shown:
                results.append(StepResult(stage, "not configured", folder, 0.0))
            continue
        if stopped or stage not in plan:  # after a failure, or after --to
            results.append(StepResult(stage, "not run", folder, 0.0))
            continue
        if stage == "embed" and is_bootstrap(config):
            booted = run_bootstrap(config, settings, out, beam, debug, fresh["embed"])
            results += booted
            if any(r.outcome.startswith("failed") for r in booted):
                stopped = True
                results.append(StepResult(stage, "not run", folder, 0.0))
                continue
            sources = source_fingerprints(settings)  # the scoring model exists now: key what it is
            keys = stage_keys(settings, sources)
            plan |= {name: _plan_stage(stage_dir(out, name), keys[name], fresh[name]) for name in order[index:]
                     if name in plan}  # fmt: skip
        result = _run_step(
            stage, folder, keys, plan[stage], settings, sources, beam, debug, (shown.index(stage), len(shown))
        )
        results.append(result)
        stopped = result.outcome.startswith("failed")
    from wit_builder.report.run_page import write_run_report

    print(f"[run] report: {write_run_report(out)}", flush=True)
    return results


def _table_stages(settings: Mapping[str, Any]) -> list[str]:
    """The stages a run's table lists, in order: every configured one, and the optional ones
    left out after the last configured (train: the table says what else can run). An optional
    stage left out between stages that run (embed, curate) is no row."""
    order = stages.names()
    last = max(order.index(stage) for stage in settings)
    return [stage for index, stage in enumerate(order) if stage in settings or index > last]


def _run_step(
    stage: str,
    folder: str,
    keys: Mapping[str, str],
    how: str,
    settings: Mapping[str, Any],
    sources: Mapping[str, Mapping[str, Fingerprint]],
    beam: Sequence[str],
    debug: bool,
    place: tuple[int, int] | None = None,
    label: str = "run",
) -> StepResult:
    """One stage of a run: up to date, or prepared, run and marked (``_SUCCESS`` with its key, or
    ``_RUNNING`` with its exit status)."""
    from wit_builder.stage_settings import to_table

    if how == "up to date":
        print(f"[{label}] {stage}: up to date in {folder}", flush=True)
        return StepResult(stage, "up to date", folder, 0.0)
    inputs = {key: value.as_dict() for key, value in sources.get(stage, {}).items()}
    changed = _changed_sources(folder, sources.get(stage, {})) if how == "start" else ""
    prepare_stage(folder, stage, keys[stage], how, inputs)
    where = f" ({place[0] + 1}/{place[1]})" if place is not None else ""
    print(f"[{label}] {stage}{where}: {'resuming' if how == 'resume' else 'starting'} in {folder}{changed}", flush=True)
    started = time.monotonic()
    status = _run_stage(stage, settings[stage], beam, debug)
    seconds = time.monotonic() - started
    reads = {earlier: keys[earlier] for earlier in sorted(set(stages.get(stage).reads.values())) if earlier in keys}
    if status == 0:
        marker = {"stage": stage, "key": keys[stage], "settings": to_table(settings[stage]), "inputs": inputs,
                  "reads": reads, "seconds": round(seconds, 3)}  # fmt: skip
        _write_marker(folder, SUCCESS, marker)
        filesystem, _ = fsspec.core.url_to_fs(folder)
        filesystem.rm(f"{folder}/{RUNNING}")
    else:  # the report says so, and shows none of its figures
        _write_marker(
            folder, RUNNING, {"key": keys[stage], "inputs": inputs, "failed": status, "seconds": round(seconds, 3)}
        )
    return StepResult(stage, "done" if status == 0 else f"failed (exit {status})", folder, seconds)


BOOTSTRAP = "bootstrap"  # [embed] model = "bootstrap": score with a model this run trains first
BOOTSTRAP_STAGES = ("shard", "tokenizer", "train")


def is_bootstrap(config: Mapping[str, Any]) -> bool:
    embed = config.get("embed")
    return isinstance(embed, Mapping) and embed.get("model") == BOOTSTRAP


def bootstrap_dir(out: str) -> str:
    """Where the bootstrap's shards, tokenizer and scoring model go: ``OUT/bootstrap``."""
    return f"{str(out).rstrip('/')}/{BOOTSTRAP}"


def bootstrap_settings(config: Mapping[str, Any], out: str) -> dict[str, Any]:
    """The bootstrap's shard, tokenizer and train settings: the run's own tables, on the
    download stage's samples with no curation, writing under ``OUT/bootstrap``."""
    from wit_builder.stage_settings import from_table

    root = bootstrap_dir(out)
    wiring = {
        "shard": {"samples": [stage_dir(out, "download")], "queries": stage_dir(out, "queries")},
        "tokenizer": {"input": stage_dir(root, "shard")},
        "train": {"train_data": stage_dir(root, "shard"), "tokenizer": stage_dir(root, "tokenizer")},
    }
    found = {}
    for stage in BOOTSTRAP_STAGES:
        table = {**dict(config.get(stage, {})), **wiring[stage], "out": stage_dir(root, stage)}
        table.pop("curation", None)
        found[stage] = from_table(stages.get(stage).settings_class(), table, where=f"{BOOTSTRAP}.{stage}")
    return found


def run_bootstrap(
    config: Mapping[str, Any], settings: Mapping[str, Any], out: str, beam: Sequence[str], debug: bool, fresh: bool
) -> list[StepResult]:
    """DFN's loop without an outside model: shard the uncurated samples, learn a tokenizer and
    train the run's model on them under ``OUT/bootstrap``, resumably (each step keyed as a
    run's stages are); the embed stage then scores every sample with that model."""
    booted = bootstrap_settings(config, out)
    sources = source_fingerprints(booted)
    keys = stage_keys(booted, sources)
    results = []
    for stage in BOOTSTRAP_STAGES:
        folder = stage_dir(bootstrap_dir(out), stage)
        how = _plan_stage(folder, keys[stage], fresh)
        result = _run_step(stage, folder, keys, how, booted, sources, beam, debug, label="bootstrap")
        results.append(StepResult(f"{BOOTSTRAP}/{stage}", result.outcome, result.out_dir, result.seconds))
        if result.outcome.startswith("failed"):
            break
    return results


def check_stage_range(from_stage: str | None, to_stage: str | None) -> None:
    """``UsageError`` unless ``--from`` and ``--to`` name stages, the first not after the second."""
    from wit_builder.errors import UsageError

    order = stages.names()
    for flag, stage in (("--from", from_stage), ("--to", to_stage)):
        if stage is not None and stage not in order:
            raise UsageError(f"{flag} {stage}: not a stage (stages: {', '.join(order)})")
    if from_stage and to_stage and order.index(from_stage) > order.index(to_stage):
        raise UsageError(f"--from {from_stage} comes after --to {to_stage}: nothing would run")


def _run_stage(stage: str, settings: Any, beam_args: Sequence[str], debug: bool) -> int:
    """One stage's exit status; an error it raises is one line on stderr (``report_error``)."""
    from wit_builder.stage_run import run_stage_command
    from wit_builder.stderr import report_error

    try:
        return run_stage_command(stage, settings, beam_args)
    except Exception as error:
        if debug:
            raise
        return report_error(f"wit-builder run: {stage}", error)


def format_results(results: Sequence[StepResult]) -> str:
    """A table a person can read at the end of a run."""
    rows = [("stage", "outcome", "seconds", "output")]
    rows += [(r.stage, r.outcome, f"{r.seconds:.1f}" if r.outcome == "done" else "-", r.out_dir) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def plan_workers(beam_args: Sequence[str]) -> int:
    """Workers the run's flags ask for: ``--max_num_workers`` (Dataflow), ``--direct_num_workers``
    (the local runner), else 1."""
    for name in ("--max_num_workers", "--num_workers", "--direct_num_workers"):
        for arg in beam_args:
            if arg.startswith(f"{name}="):
                return max(1, int(arg.split("=", 1)[1]))
    return 1


def plan_text(settings: Mapping[str, Any], args, beam_args: Sequence[str]) -> str:
    """``--plan``'s table (``wit_builder.plan``) for the run's settings and flags."""
    from wit_builder.plan import format_plan, load_rates, not_estimated, plan_run

    workers = args.plan_workers or plan_workers(beam_args)
    prices = (args.price_vcpu_hour, args.price_gb)
    rates = load_rates(args.rates)
    estimates = plan_run(settings, rates, workers, *prices)
    left_out = not_estimated(settings, rates)
    return "[run] plan, before anything runs:\n" + format_plan(estimates, workers, prices, left_out)


def run_command(args, beam_args: Sequence[str]) -> int:
    """``wit-builder run --config TOML [--out DIR] [--from STAGE] [--print-config] [beam flags]``."""
    from wit_builder.beam_options import check_beam_flags
    from wit_builder.errors import EXIT_ERROR, EXIT_OK, EXIT_USAGE, UsageError
    from wit_builder.stage_settings import SettingsError, format_toml

    config = load_config(args.config)
    beam_args_of_config = config.get("beam_args", [])
    if isinstance(beam_args_of_config, list) and all(isinstance(arg, str) for arg in beam_args_of_config):
        check_beam_flags(beam_args_of_config, where=f"{args.config}: beam_args: ")
    out = args.out or config.get("out")
    if not out:
        raise UsageError("no run folder: give --out or set out in the config")
    try:
        if args.print_config:
            print(format_toml(full_config(config, out)), end="")
            return EXIT_OK
        settings = chain_settings(config, out)  # every key and value checked before --out is touched
        check_stage_range(args.from_stage, args.to_stage)
        if missing := missing_sources(settings, out, args.to_stage):
            raise UsageError(
                f"{args.config}: {len(missing)} input(s) name no file: {'; '.join(missing)}; fill in the paths "
                "(the config's comments say what each wants)"
            )
        planned = {stage: value for stage, value in settings.items() if stage in stages_up_to(args.to_stage)}
        if args.plan:
            print(plan_text(planned, args, [*config.get("beam_args", []), *beam_args]))
            return EXIT_OK
        try:
            print(plan_text(planned, args, [*config.get("beam_args", []), *beam_args]), flush=True)
        except (OSError, ValueError, KeyError) as error:  # a plan is advice: the run goes on without one
            print(f"[run] no plan: {type(error).__name__}: {error}", flush=True)
        results = run_chain(config, out, beam_args, args.from_stage, debug=args.debug, to_stage=args.to_stage)
    except SettingsError as error:
        raise SettingsError(f"{args.config}: {error}") from error
    print(format_results(results))
    failed = [r for r in results if r.outcome.startswith("failed")]
    return (EXIT_USAGE if failed[0].outcome == "failed (exit 2)" else EXIT_ERROR) if failed else EXIT_OK
