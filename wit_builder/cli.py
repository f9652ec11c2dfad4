"""``wit-builder``: one command per stage of the chain, plus ``run``, ``demo`` and ``world``.

Each stage takes its input folder(s) and ``--out`` explicitly; every flag the stage does not
know is handed to Beam's ``PipelineOptions`` (``--runner=DataflowRunner --project=...``), and
the runner defaults to the embedded ``FnApiRunner``. A stage's code is imported only when it
runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wit_builder import __version__, stages
from wit_builder.beam_options import (
    DEFAULT_RUNNER,
    check_beam_flags,
    closest_flag,
    refused_runner,
    unknown_positionals,
)
from wit_builder.demo_settings import DemoSettings, WorldSettings
from wit_builder.errors import UsageError
from wit_builder.shard import recheck_cli, takedown_cli, verify_cli
from wit_builder.stage_settings import add_flags, bounded_number, from_flags, range_text
from wit_builder.stages import Stage
from wit_builder.stderr import DEBUG_HELP, OneLineParser, end_process, report_error, stderr_log

PRICE_LIMIT = 1_000_000  # dollars a vCPU-hour or a GB-month: anything above is a typo
MAX_WORKERS = 1_000_000  # Dataflow's largest jobs run thousands of workers
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
    p.add_argument(
        "--queries",
        metavar="Q1,Q2",
        help="show these queries' kept pictures too (kept in RUN_DIR/report/queries.txt; '' clears them)",
    )


def _run_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="TOML", required=True, help="a pipeline config, e.g. pipelines/local.toml")
    p.add_argument("--out", metavar="DIR", help="the run folder (overrides the config's out)")
    p.add_argument(
        "--from",
        dest="from_stage",
        metavar="STAGE",
        help="run this stage and the later ones afresh, even if they finished with the same settings",
    )
    p.add_argument(
        "--to",
        dest="to_stage",
        metavar="STAGE",
        help="stop after this stage (the stages after it are not run, and their folders not touched)",
    )
    p.add_argument("--print-config", action="store_true", help="print the whole config, every default filled in")
    p.add_argument("--plan", action="store_true", help="print each stage's estimated work, output and cost, and stop")
    p.add_argument(
        "--rates", metavar="JSON", help="measured per-core rates for the plan (default: benchmarks/rates.json)"
    )
    price = bounded_number(float, 0, PRICE_LIMIT)
    p.add_argument(
        "--price-vcpu-hour",
        type=price,
        default=0.05,
        metavar="USD",
        help=f"plan's price of a vCPU-hour (default: 0.05; {range_text(0, PRICE_LIMIT)})",
    )
    p.add_argument(
        "--price-gb",
        type=price,
        default=0.02,
        metavar="USD",
        help=f"plan's price of a GB stored, a month (default: 0.02; {range_text(0, PRICE_LIMIT)})",
    )
    p.add_argument(
        "--plan-workers",
        type=bounded_number(int, 1, MAX_WORKERS),
        metavar="N",
        help="workers the plan's wall time assumes (default: --max_num_workers or --direct_num_workers, else 1; "
        f"{range_text(1, MAX_WORKERS)})",
    )


def _flags_of(settings: type) -> Callable[[argparse.ArgumentParser], None]:
    """A command's flags from its settings class (``stage_settings``)."""
    return lambda parser: add_flags(parser, settings)


def _stage(stage: Stage) -> Command:
    """A chain stage's command: its flags are its settings class's (``stage_settings``),
    imported only when its parser is built."""
    return Command(
        stage.name,
        stage.summary,
        lambda parser: add_flags(parser, stage.settings_class()),
        STAGE_TARGET,
        stage.takes_beam_flags,
    )


def run_stage(args: argparse.Namespace, beam_args: Sequence[str]) -> int:
    """Any chain stage: its settings from the parsed flags, then its runner."""
    from wit_builder.stage_run import run_stage_command

    settings = from_flags(stages.get(args.command).settings_class(), args)
    return run_stage_command(args.command, settings, beam_args)


STAGE_TARGET = "wit_builder.cli:run_stage"
OTHER_COMMANDS: tuple[Command, ...] = (
    Command(
        "verify",
        "check every shard against its manifest and index",
        verify_cli.add_arguments,
        "wit_builder.shard.verify_cli:run_command",
        takes_beam_flags=False,
    ),
    Command(
        "takedown",
        "remove samples from a published shard set, and log who, what, when and why",
        takedown_cli.add_arguments,
        "wit_builder.shard.takedown_cli:run_command",
        takes_beam_flags=False,
    ),
    Command(
        "recheck",
        "check a published shard set's consent and content again; write the drift and a takedown request",
        recheck_cli.add_arguments,
        "wit_builder.shard.recheck_cli:run_command",
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


def commands() -> tuple[Command, ...]:
    """Every command: one per stage of the registry (``wit_builder.stages``) that has one, then
    the others."""
    return (*(_stage(stage) for stage in stages.chain() if stage.command), *OTHER_COMMANDS)


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=28, width=100)


def _command_table(listed: Sequence[Command]) -> str:
    width = max(len(command.name) for command in listed)
    return "\n".join(f"  {command.name.ljust(width)}  {command.summary}" for command in listed)


def _named_command(argv: Sequence[str], names: set[str]) -> str | None:
    """The command ``argv`` names (its first word that is not a flag), if it is one."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return first if first in names else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``only``, only that command's flags are built (the others
    are listed but flagless), which spares a stage's run importing every other stage's settings."""
    listed = commands()
    flow = " → ".join(stage.name for stage in stages.chain() if stage.command)
    parser = OneLineParser(
        prog="wit-builder",
        usage="wit-builder [-h] [--version] COMMAND [flags]",
        formatter_class=_formatter,
        description=f"Collect a WIT-style image-text data set: {flow}.\n\ncommands:\n{_command_table(listed)}",
        epilog="Run 'wit-builder COMMAND --help' for a command's flags.",
    )
    parser.add_argument("--version", action="version", version=f"wit-builder {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, help=argparse.SUPPRESS)
    for command in listed:
        summary = command.summary
        sub = subparsers.add_parser(
            command.name,
            prog=f"wit-builder {command.name}",
            help=summary,
            description=summary,
            epilog=BEAM_EPILOG if command.takes_beam_flags else None,
            formatter_class=_formatter,
        )
        if only is None or command.name == only:
            command.configure(sub)
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    return parser


def _command_flags(parser: argparse.ArgumentParser, name: str) -> list[str]:
    """Every flag of the command ``name`` (its subparser's)."""
    subparsers = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    return [flag for action in subparsers.choices[name]._actions for flag in action.option_strings]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``wit-builder``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    listed = commands()
    parser = build_parser(_named_command(argv, {command.name for command in listed}))
    args, extra = parser.parse_known_args(argv)
    stderr_log(args.debug)
    command = next(command for command in listed if command.name == args.command)
    strays = unknown_positionals(extra)
    if strays or (extra and not command.takes_beam_flags):
        flag = next((arg.split("=", 1)[0] for arg in extra if arg.startswith("-")), None)
        near = closest_flag(flag, _command_flags(parser, command.name)) if flag and not strays else None
        hint = f"; did you mean {near}?" if near else ""
        parser.error(f"{command.name}: unrecognised arguments: {' '.join(strays or extra)}{hint}")
    if refused := refused_runner(extra):
        parser.error(f"{command.name}: {refused}")
    if extra:  # what the command did not take goes to Beam: a flag Beam does not know either is a typo
        try:
            check_beam_flags(extra, _command_flags(parser, command.name))
        except UsageError as error:
            return report_error(f"wit-builder {command.name}", error)
    function = stages.load(command.target)
    from wit_builder.command_run import run_command

    return run_command(f"wit-builder {command.name}", args.debug, lambda: function(args, extra))


def console_main() -> None:
    """The ``wit-builder`` executable: ``main``, then the process ends without the interpreter's
    teardown (``stderr.end_process``)."""
    end_process(main())


if __name__ == "__main__":
    console_main()
