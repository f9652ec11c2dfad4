"""``wit-builder``: one command per stage of the chain, plus ``run``, ``demo`` and ``world``.

Each stage takes its input folder(s) and ``--out`` explicitly; every flag the stage does not
know is handed to Beam's ``PipelineOptions`` (``--runner=DataflowRunner --project=...``), and
the runner defaults to the embedded ``FnApiRunner``. A stage's code is imported only when it
runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wit_builder import __version__
from wit_builder.beam_options import DEFAULT_RUNNER, unknown_positionals
from wit_builder.demo_settings import DemoSettings, WorldSettings
from wit_builder.errors import EXIT_OK
from wit_builder.shard import verify_cli
from wit_builder.stage_settings import add_flags, from_flags
from wit_builder.stderr import DEBUG_HELP, OneLineParser, end_process, report_error, stderr_log

BEAM_EPILOG = (
    "Any other --flag goes to Apache Beam's PipelineOptions, for example\n"
    "  --runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp\n"
    "  --direct_num_workers=2 --direct_running_mode=multi_processing\n"
    f"The runner defaults to {DEFAULT_RUNNER}. Paths may be local, gs://, s3:// or any fsspec URL."
)


@dataclass(frozen=True)
class Command:
    """A subcommand: its flags, and where its code lives (``module:function``)."""

    name: str
    summary: str
    configure: Callable[[argparse.ArgumentParser], None]
    target: str
    takes_beam_flags: bool = True


def _report_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder; regenerates its reports from the stage outputs")


def _run_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="TOML", required=True, help="a pipeline config, e.g. pipelines/local.toml")
    p.add_argument("--out", metavar="DIR", help="the run folder (overrides the config's out)")
    p.add_argument(
        "--from", dest="from_stage", metavar="STAGE",
        help="run this stage and the later ones afresh, even if they finished with the same settings",
    )  # fmt: skip
    p.add_argument("--print-config", action="store_true", help="print the whole config, every default filled in")


def _flags_of(settings: type) -> Callable[[argparse.ArgumentParser], None]:
    """A command's flags from its settings class (``stage_settings``)."""
    return lambda parser: add_flags(parser, settings)


def _stage(name: str, summary: str, takes_beam_flags: bool = True) -> Command:
    """A chain stage's command: its flags are its settings class's (``stage_settings``)."""
    from wit_builder.chain import stage_cli

    settings = stage_cli(name).SETTINGS
    return Command(name, summary, _flags_of(settings), STAGE_TARGET, takes_beam_flags)


def run_stage(args: argparse.Namespace, beam_args: Sequence[str]) -> int:
    """Any chain stage: its settings from the parsed flags, then its runner."""
    from wit_builder.chain import stage_cli
    from wit_builder.stage_run import run_stage_command

    return run_stage_command(args.command, from_flags(stage_cli(args.command).SETTINGS, args), beam_args)


STAGE_TARGET = "wit_builder.cli:run_stage"
COMMANDS: tuple[Command, ...] = (
    _stage("queries", "build the Wikipedia-derived query list"),
    _stage("harvest", "find image-text pairs whose text contains a query"),
    _stage("balance", "keep at most t pairs per query; write the balance report"),
    _stage("download", "fetch, verify, resize and dedupe the images"),
    _stage("shard", "write globally shuffled WebDataset tars with their index and manifest"),
    _stage("tokenizer", "train a CLIP-style BPE tokenizer on the captions", takes_beam_flags=False),
    Command(
        "verify",
        "check every shard against its manifest and index",
        verify_cli.add_arguments,
        "wit_builder.shard.verify_cli:run_command",
        takes_beam_flags=False,
    ),
    Command("report", "regenerate a run's reports", _report_flags, "wit_builder.report.cli:run_command", False),
    Command("run", "run the whole chain from a pipeline config", _run_flags, "wit_builder.chain:run_command"),
    Command(
        "demo",
        "build the synthetic world and run the chain on it",
        _flags_of(DemoSettings),
        "wit_builder.demo:demo_command",
    ),
    Command(
        "world",
        "write (and serve) the synthetic world",
        _flags_of(WorldSettings),
        "wit_builder.demo:world_command",
        False,
    ),
)
COMMANDS_BY_NAME = {command.name: command for command in COMMANDS}


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=28, width=100)


def _command_table() -> str:
    width = max(len(command.name) for command in COMMANDS)
    return "\n".join(f"  {command.name.ljust(width)}  {command.summary}" for command in COMMANDS)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="wit-builder",
        usage="wit-builder [-h] [--version] COMMAND [flags]",
        formatter_class=_formatter,
        description="Collect a WIT-style image-text data set: queries → harvest → balance → download → shard."
        f"\n\ncommands:\n{_command_table()}",
        epilog="Run 'wit-builder COMMAND --help' for a command's flags.",
    )
    parser.add_argument("--version", action="version", version=f"wit-builder {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, help=argparse.SUPPRESS)
    for command in COMMANDS:
        summary = command.summary
        sub = subparsers.add_parser(
            command.name,
            prog=f"wit-builder {command.name}",
            help=summary,
            description=summary,
            epilog=BEAM_EPILOG if command.takes_beam_flags else None,
            formatter_class=_formatter,
        )
        command.configure(sub)
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``wit-builder``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    stderr_log(args.debug)
    command = COMMANDS_BY_NAME[args.command]
    strays = unknown_positionals(extra)
    if strays or (extra and not command.takes_beam_flags):
        parser.error(f"{command.name}: unrecognised arguments: {' '.join(strays or extra)}")
    module_name, function_name = command.target.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    from wit_builder.io.folder_lock import command_scope

    try:
        with command_scope(f"wit-builder {command.name}"):
            return int(function(args, extra) or EXIT_OK)
    except Exception as error:  # one line for a person; the traceback only with --debug
        if args.debug:
            raise
        return report_error(f"wit-builder {command.name}", error)


def console_main() -> None:
    """The ``wit-builder`` executable: ``main``, then the process ends without the interpreter's
    teardown (``stderr.end_process``)."""
    end_process(main())


if __name__ == "__main__":
    console_main()
