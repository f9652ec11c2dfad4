"""Beam pipeline options as every stage builds them.

A stage parses its own flags and hands every other ``--flag`` to Beam unchanged, so
``--runner=DataflowRunner --project=P --region=R --temp_location=gs://...`` reach Dataflow as
they are. When no runner is named the stage runs on the embedded ``FnApiRunner``: Beam's own
default would try to download the Prism runner first, which an offline machine cannot do.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apache_beam.options.pipeline_options import PipelineOptions

DEFAULT_RUNNER = "FnApiRunner"
# Beam's state sampler is a thread per bundle that samples which step is running (for the msec
# counters). It sleeps up to 200 ms between samples, and the end of every bundle joins it: on
# the local runner a stage of ~30 short bundles waited ~10% of each bundle's length at its end
# (0.1-0.2 s of a 3 s shard run). At 5 ms the thread wakes more often, to take a lock and add
# a number without the GIL, and a bundle ends at once.
SAMPLER_PERIOD_MS = 5
# Runners the stages cannot run on, and why (checked before anything runs).
REFUSED_RUNNERS = {
    "DaskRunner": (
        "Beam's DaskRunner (2.77) sends every element of a multi-output ParDo to each of its outputs, and "
        'every stage counts through tagged outputs (its first would fail with "unsupported operand type(s) '
        "for +: 'int' and 'Page'\"); use the PortableRunner with a job service, FnApiRunner, Dataflow, "
        "Flink or Spark (docs/scale.md)"
    ),
}


def names_runner(beam_args: Sequence[str]) -> bool:
    return any(arg == "--runner" or arg.startswith("--runner=") for arg in beam_args)


def with_default_runner(beam_args: Sequence[str]) -> list[str]:
    """``beam_args`` with ``--runner=FnApiRunner`` in front unless they name a runner."""
    args = list(beam_args)
    return args if names_runner(args) else [f"--runner={DEFAULT_RUNNER}", *args]


def pipeline_options(beam_args: Sequence[str]) -> PipelineOptions:
    """The ``PipelineOptions`` a stage runs with."""
    from apache_beam.options.pipeline_options import PipelineOptions  # Beam is slow to import

    return PipelineOptions(with_default_runner(beam_args))


def quick_bundle_ends() -> bool:
    """Cap the sampling period of Beam's state sampler in this process, where the local runner's
    workers run (``SAMPLER_PERIOD_MS``); workers in other processes keep Beam's. Returns whether
    the cap is in place: a Beam whose sampler takes other defaults is left as it is."""
    from apache_beam.runners.worker import statesampler

    init = statesampler.StateSampler.__init__
    if init.__defaults__ == (statesampler.DEFAULT_SAMPLING_PERIOD_MS,):
        init.__defaults__ = (SAMPLER_PERIOD_MS,)
    return init.__defaults__ == (SAMPLER_PERIOD_MS,)


def refused_runner(beam_args: Sequence[str]) -> str | None:
    """Why the runner the flags name cannot run the stages, or None."""
    args = list(beam_args)
    for index, arg in enumerate(args):
        if arg.startswith("--runner=") or (arg == "--runner" and index + 1 < len(args)):
            name = arg.split("=", 1)[1] if "=" in arg else args[index + 1]
            if (why := REFUSED_RUNNERS.get(name.rsplit(".", 1)[-1])) is not None:
                return f"--runner={name}: {why}"
    return None


def unknown_positionals(extra: Sequence[str]) -> list[str]:
    """Arguments argparse left over that cannot be Beam flags (they do not start with ``-``
    and do not follow a flag as its value)."""
    strays = []
    for index, arg in enumerate(extra):
        if arg.startswith("-"):
            continue
        previous = extra[index - 1] if index else ""
        if not (previous.startswith("--") and "=" not in previous):
            strays.append(arg)
    return strays


@functools.cache
def _beam_parser():
    """Beam's own parser of every ``PipelineOptions`` class, its errors raised as ``UsageError``
    (Beam's would print its whole usage, 134 lines, and exit)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    from wit_builder.errors import UsageError

    built = []

    def keep(parser) -> None:
        def refuse(message: str):
            raise UsageError(message)

        parser.error = refuse
        built.append(parser)

    PipelineOptions([]).get_all_options(add_extra_args_fn=keep)
    return built[0]


def beam_flag_names() -> list[str]:
    """Every flag Beam's ``PipelineOptions`` define (``--runner``, ``--direct_num_workers``...)."""
    return [name for action in _beam_parser()._actions for name in action.option_strings if name.startswith("--")]


def closest_flag(flag: str, known: Iterable[str]) -> str | None:
    """The known flag nearest ``flag``, spelled as it is known (``--per-querry`` → ``--per-query``),
    ``_`` and ``-`` taken as one; None when nothing is near."""
    spelled = {name.replace("_", "-"): name for name in known}
    found = difflib.get_close_matches(flag.replace("_", "-"), list(spelled), n=1, cutoff=0.75)
    return spelled[found[0]] if found else None


def check_beam_flags(beam_args: Sequence[str], own_flags: Iterable[str] = (), where: str = "") -> None:
    """Refuse (``UsageError``) the first of ``beam_args`` that neither the command (``own_flags``)
    nor Beam's ``PipelineOptions`` defines, naming the closest known flag, and a value Beam's own
    parser refuses (``--direct_num_workers=abc``), before anything runs. Beam itself drops an
    unknown flag with a warning: a misspelt ``--per-querry 1`` would run with the default."""
    if not beam_args:
        return
    from wit_builder.errors import UsageError

    try:
        _, unknown = _beam_parser().parse_known_args(list(beam_args))
    except UsageError as error:
        raise UsageError(f"{where}{error}") from None
    for arg in unknown:
        if arg.startswith("-"):
            flag = arg.split("=", 1)[0]
            near = closest_flag(flag, [*own_flags, *beam_flag_names()])
            hint = f"; did you mean {near}?" if near else " (neither the command nor Apache Beam defines it)"
            raise UsageError(f"{where}{flag}: no such flag{hint}")
