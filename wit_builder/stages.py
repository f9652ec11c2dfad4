"""The one list of stages. Everything that needs to know which stages exist, in what order,
what each reads and writes, derives from it: the ``wit-builder`` commands and their flags,
``wit-builder run`` (wiring, keys, ``--from``, ``--print-config``), folder recognition and the
removal rules (``io.stage_folders``), the shard manifest's upstream stats, the run report and
the demo's config.

Adding a stage is a new package (its settings class and its ``run(settings, beam_args)``, and
if it has one, its section of the run report) plus one ``Stage`` entry here. Code is named by
``"module:attribute"`` and imported only when used, so this module imports no stage and any
module may read it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# A chunk of the download and shard stages' work (``io.chunks.Chunk.name``): STEM-PART-DIGEST.
CHUNK = r"[\w.-]+-\d{4}-[0-9a-f]{12}"


@dataclass(frozen=True)
class Stage:
    """One stage of the chain.

    ``reads`` maps a setting to the earlier stage whose folder it takes by default in a run
    (``{"candidates": "harvest"}``); the first entry is the stage's main input. ``marks`` are
    entries only this stage writes at the top of its folder (the first is the data a later
    stage reads), and ``outputs`` are regular expressions over every file it writes, relative
    to its folder: a stage removes only files matching them. ``report`` is the title and the
    ``module:function`` of its section of the run report; the function takes the run folder
    and every stage's ``stats.json`` (None where it has not run) and returns HTML, or None
    when the stage has not run. ``more_reports`` are further sections in the same form, shown
    after it (download's "Opt-outs and removals", which also reads harvest's and shard's files).
    ``keeps`` names files among its outputs that a fresh run leaves in place: the shard stage's
    ``takedowns.jsonl``, which every later run of the set must honour.
    """

    name: str
    summary: str
    settings: str  # "module:Class", a ``stage_settings.Settings`` dataclass
    runner: str  # "module:function", run(settings, beam_args) -> exit status
    marks: tuple[str, ...]
    outputs: tuple[str, ...]
    reads: Mapping[str, str] = field(default_factory=dict)
    report: tuple[str, str] | None = None
    more_reports: tuple[tuple[str, str], ...] = ()
    keeps: tuple[str, ...] = ()  # top-level files of its folder that no re-run removes (records that outlive a run)
    # "module:function" estimating its work for ``run --plan`` (``plan.StageWork``), None: not estimated
    estimate: str | None = None
    optional: bool = False  # in a run only when the config has its table
    command: bool = True  # a ``wit-builder NAME`` command (train has its own: ``wit-train``)
    takes_beam_flags: bool = True

    def settings_class(self) -> type:
        return load(self.settings)

    def run(self, settings: Any, beam_args: Any) -> int:
        return load(self.runner)(settings, beam_args)

    def report_section(self) -> Callable[[str, Mapping[str, Any]], str | None] | None:
        return load(self.report[1]) if self.report else None

    def report_sections(self) -> list[tuple[str, Callable[[str, Mapping[str, Any]], str | None]]]:
        """(title, function) of each of its sections of the run report, in order."""
        return [(title, load(target)) for title, target in ((self.report,) if self.report else ()) + self.more_reports]

    @property
    def data(self) -> str:
        """The entry of its folder a later stage reads (``candidates``, ``samples``)."""
        return self.marks[0]


def load(target: str) -> Any:
    """The object a ``"module:attribute"`` target names, imported now: the one loader of the
    registry's code, the command table's handlers and the trainer's model parts."""
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module), attribute)


_SECTIONS = "wit_builder.report.sections"
_CHAIN: list[Stage] = [
    Stage(
        "queries",
        "build the Wikipedia-derived query list",
        "wit_builder.queries.settings:QueriesSettings",
        "wit_builder.queries.cli:run",
        estimate="wit_builder.plan:queries_work",
        marks=("queries.parquet", "queries.txt"),
        outputs=(r"queries\.parquet", r"queries\.txt", r"stats\.json"),
        report=("The query list", f"{_SECTIONS}:queries"),
    ),
    Stage(
        "harvest",
        "find image-text pairs whose text contains a query",
        "wit_builder.harvest.settings:HarvestSettings",
        "wit_builder.harvest.cli:run",
        estimate="wit_builder.plan:harvest_work",
        marks=("candidates",),
        outputs=(r"candidates/part-\d{5}\.parquet", r"stats\.json"),
        reads={"queries": "queries"},
        report=("Harvest: why pairs were dropped", f"{_SECTIONS}:harvest"),
    ),
    Stage(
        "balance",
        "keep at most t pairs per query; write the balance report",
        "wit_builder.balance.settings:BalanceSettings",
        "wit_builder.balance.cli:run",
        estimate="wit_builder.plan:upstream_work",
        marks=("balanced",),
        outputs=(
            r"balanced/part-\d{5,}\.parquet",
            r"report/balance\.html",
            r"report/balance\.parquet",
            r"stats\.json",
        ),
        reads={"candidates": "harvest"},
        report=("Balance: at most t pairs per query", f"{_SECTIONS}:balance"),
        more_reports=(("Languages", "wit_builder.report.languages_section:languages_section"),),
    ),
    Stage(
        "download",
        "fetch, verify, resize and dedupe the images",
        "wit_builder.download.settings:DownloadSettings",
        "wit_builder.download.cli:run",
        estimate="wit_builder.plan:download_work",
        marks=("samples", "status"),
        outputs=(
            rf"samples/{CHUNK}\.parquet",
            rf"status/{CHUNK}\.parquet",
            rf"work/fetched/{CHUNK}\.parquet",
            rf"work/outcomes/{CHUNK}\.parquet",
            rf"eval_matches/{CHUNK}\.parquet",
            rf"work/eval_matches/{CHUNK}\.parquet",
            r"eval_sets/[\w.-]+\.parquet",
            r"eval_sets/[\w.-]+\.json",
            r"stats\.json",
        ),
        reads={"pairs": "balance"},
        report=("Download", "wit_builder.report.download_section:report_section"),
        more_reports=(
            ("Opt-outs and removals", "wit_builder.report.removals_section:removals_section"),
            ("Pictures of what was kept and dropped", "wit_builder.report.pictures_section:pictures_section"),
        ),
    ),
    Stage(
        "embed",
        "embed every kept sample's image and caption with one model (RunInference)",
        "wit_builder.embed.settings:EmbedSettings",
        "wit_builder.embed.cli:run",
        marks=("embeddings",),
        outputs=(
            rf"embeddings/{CHUNK}\.parquet",
            r"eval_embeddings/[\w.-]+\.parquet",
            r"stats\.json",
        ),
        reads={"samples": "download"},
        optional=True,
    ),
    Stage(
        "curate",
        "drop pairs by their embeddings: low CLIP score, semantic duplicates, evaluation copies",
        "wit_builder.curate.settings:CurateSettings",
        "wit_builder.curate.cli:run",
        marks=("curation",),
        outputs=(rf"curation/{CHUNK}\.parquet", r"stats\.json"),
        reads={"embeddings": "embed"},
        report=("Curation by model", "wit_builder.report.curation_section:curation_section"),
        optional=True,
    ),
    Stage(
        "shard",
        "write globally shuffled WebDataset tars with their index and manifest",
        "wit_builder.shard.settings:ShardSettings",
        "wit_builder.shard.cli:run",
        estimate="wit_builder.plan:shard_work",
        marks=("manifest.json",),
        outputs=(
            r"\d+\.tar",
            r"\d+\.parquet",
            r"manifest\.json",
            r"sizes\.json",
            r"stats\.json",
            r"croissant\.json",
            r"README\.md",
            r"report/balance\.html",
            r"report/balance\.parquet",
            rf"work/runs/{CHUNK}\.(run|json)",
            r"work/shards/\d+\.json",
            r"takedowns\.jsonl",
            r"takedown\.pending\.json",
            r"\d+\.(tar|parquet)\.takedown-partial",
        ),
        keeps=("takedowns.jsonl", "takedown.pending.json"),
        reads={"samples": "download", "queries": "queries", "curation": "curate"},
        report=("Shards", f"{_SECTIONS}:shard"),
        more_reports=(("Re-checks after release", "wit_builder.report.recheck_section:recheck_section"),),
    ),
    Stage(
        "tokenizer",
        "train a CLIP-style BPE tokenizer on the captions",
        "wit_builder.tokenizer.cli:TokenizerSettings",
        "wit_builder.tokenizer.cli:run",
        marks=("tokenizer.json",),
        outputs=(r"tokenizer\.json", r"stats\.json"),
        reads={"input": "shard"},
        takes_beam_flags=False,
    ),
    Stage(
        "train",
        "train a CLIP model on the shards, then evaluate it (wit-train)",
        "wit_builder.train.settings:TrainSettings",
        "wit_builder.train.cli:run",
        marks=("checkpoints", "metrics.jsonl"),
        outputs=(
            r"checkpoints/(step_\d{8}|latest)\.pt",
            r"metrics\.jsonl",
            r"args\.json",
            r"eval\.json",
            r"tensorboard/events\.out\.tfevents\.[\w.-]+",
        ),
        reads={"train_data": "shard", "tokenizer": "tokenizer"},
        report=("Training and evaluation", f"{_SECTIONS}:train"),
        optional=True,
        command=False,
        takes_beam_flags=False,
    ),
]


def chain() -> tuple[Stage, ...]:
    """Every stage, in the order a run runs them."""
    return tuple(_CHAIN)


def names() -> tuple[str, ...]:
    return tuple(stage.name for stage in _CHAIN)


def get(name: str) -> Stage:
    """The stage called ``name``; ``KeyError`` when there is none."""
    for stage in _CHAIN:
        if stage.name == name:
            return stage
    raise KeyError(name)


def upstream(name: str) -> tuple[str, ...]:
    """Every stage ``name`` reads, directly or through another, in chain order."""
    wanted: set[str] = set()
    pending = list(get(name).reads.values())
    while pending:
        earlier = pending.pop()
        if earlier not in wanted:
            wanted.add(earlier)
            pending.extend(get(earlier).reads.values())
    return tuple(stage for stage in names() if stage in wanted)


def main_input(name: str) -> Stage:
    """The stage whose folder ``name`` reads first (download for shard)."""
    return get(next(iter(get(name).reads.values())))


def register(stage: Stage, after: str | None = None) -> None:
    """Add ``stage`` to the chain after the stage ``after`` (at the end when None). Its reads
    must name stages before it."""
    if stage.name in names():
        raise ValueError(f"a stage named {stage.name!r} is registered already")
    position = len(_CHAIN) if after is None else names().index(after) + 1
    before = set(names()[:position])
    if missing := [s for s in stage.reads.values() if s not in before]:
        raise ValueError(f"stage {stage.name!r} reads {missing[0]!r}, which does not run before it")
    _CHAIN.insert(position, stage)


def unregister(name: str) -> None:
    _CHAIN.remove(get(name))


@contextmanager
def registered(stage: Stage, after: str | None = None) -> Iterator[Stage]:
    """``stage`` in the chain for the length of a ``with`` block (tests, plug-ins)."""
    register(stage, after)
    try:
        yield stage
    finally:
        unregister(stage.name)
