"""What a person sees on stderr: one line per error, and no traceback unless ``--debug``.

Three sources would otherwise put more there when something fails:

- our own code: every command catches what it raises and prints ``one_line(error)``;
- Beam's loggers: when code in a Beam worker raises, Beam logs the worker's traceback at ERROR
  before it raises the error to the command. ``StderrLog``, the one handler of the root logger,
  leaves those records out unless ``--debug``;
- Beam's worker processes: with ``--direct_running_mode=multi_processing`` the local runner
  starts SDK workers as child processes that share the command's stderr and log their start-up
  and their failures there. ``workers_quiet`` points their stderr at a temporary file for the
  length of the pipeline (the command's own progress lines still reach the terminal).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import NoReturn, TextIO

from wit_builder.errors import StageFailed, UsageError, exit_status

DEBUG_HELP = "on an error, show the Python traceback instead of the one-line message"


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line, exit status 2, like every other usage
    error (argparse prints the whole usage block first); ``--help`` still shows the usage."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


class StderrLog(logging.Handler):
    """The root logger's handler while a command runs: records go to the current ``sys.stderr``
    (Beam's ``logging.basicConfig()`` then adds none of its own), less the warning Beam logs
    whenever it is imported without the GCP client libraries ("apitools not found"), and, unless
    ``debug``, the ERROR records of Beam's loggers (the worker tracebacks)."""

    def __init__(self) -> None:
        super().__init__()
        self.debug = False
        self.setFormatter(logging.Formatter(logging.BASIC_FORMAT))

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("apitools not found"):
            return False
        beam = record.name == "apache_beam" or record.name.startswith("apache_beam.")
        return self.debug or not (beam and record.levelno >= logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # a log line must never end the command
            self.handleError(record)


def stderr_log(debug: bool) -> StderrLog:
    """Install (once) and set the root logger's ``StderrLog``, in place of the plain stderr
    handler ``logging.basicConfig()`` leaves when Beam was imported first."""
    root = logging.getLogger()
    for other in [h for h in root.handlers if type(h) is logging.StreamHandler]:
        root.removeHandler(other)
    handler = next((h for h in root.handlers if isinstance(h, StderrLog)), None)
    if handler is None:
        handler = StderrLog()
        root.addHandler(handler)
    handler.debug = debug
    return handler


def debugging() -> bool:
    """Whether the running command was given ``--debug``."""
    return any(isinstance(h, StderrLog) and h.debug for h in logging.getLogger().handlers)


def one_line(error: BaseException) -> str:
    """An error as one line: ours as they are, others with their type. An error that crossed a
    process (a Beam worker, a data-loader worker) arrives with that worker's traceback in its
    text; its last line is the error that started it."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    if isinstance(error, UsageError | StageFailed):  # the traceback names it wit_builder.errors.StageFailed
        text = re.sub(rf"^(?:[\w.]+\.)?{type(error).__name__}: ", "", last) if len(lines) > 1 else str(error)
    else:
        text = last if ": " in last and len(lines) > 1 else f"{type(error).__name__}: {last}"
    return text if len(text) <= 400 else text[:397] + "..."


def report_error(command: str, error: BaseException) -> int:
    """``COMMAND: the error`` as one line on stderr (errors that are not ours with where to look
    for more); returns the exit status the command ends with (``errors.exit_status``)."""
    hint = "" if isinstance(error, UsageError | StageFailed) else " (--debug shows where)"
    print(f"{command}: {one_line(error)}{hint}", file=sys.stderr)
    return exit_status(error)


def warn_skipped(stage: str, entries: Iterable[Mapping[str, str]]) -> None:
    """After a stage's summary line: one warning per input it read only in part or skipped (they
    are in its stats.json too). A stage that fails prints none of them: its one error line
    names what could not be read."""
    for entry in entries:
        print(f"[{stage}] WARNING skipped (in stats.json): {entry['path']}: {entry['error']}", file=sys.stderr)


def _runs_worker_processes(beam_args: Sequence[str]) -> bool:
    from wit_builder.beam_options import pipeline_options

    options = pipeline_options(beam_args).get_all_options(drop_default=True)
    return options.get("direct_running_mode") == "multi_processing"


@contextmanager
def workers_quiet(beam_args: Sequence[str]) -> Iterator[TextIO]:
    """Yield the real stderr, for anything the command must say there while its pipeline runs.
    When the pipeline's workers are child processes of this one (and not ``--debug``), file
    descriptor 2 points at a temporary file meanwhile, so the workers' logs stay off the
    terminal. Otherwise nothing changes and ``sys.stderr`` is yielded."""
    if debugging() or not _runs_worker_processes(beam_args):
        yield sys.stderr
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with (
        tempfile.TemporaryFile(prefix="wit-builder-workers-") as log,
        os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace") as terminal,
    ):
        try:
            os.dup2(log.fileno(), 2)
            yield terminal
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def end_process(status: int) -> NoReturn:
    """End a command's process with ``status`` once its output is flushed, skipping the
    interpreter's teardown.

    The teardown is where a finished command can die: pyarrow (every stage reads Parquet)
    keeps C++ thread pools alive, and when the interpreter destroys its modules at exit, a pool
    thread is now and then destroyed while still joinable; libstdc++ then aborts the process,
    "terminate called without an active exception", exit status 134, after the command has
    printed its results (apache/arrow#34314). By the time a command returns, every file it
    wrote is closed and its locks are released, so there is nothing left for the teardown to
    do that the operating system does not do on exit.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a closed or broken pipe: nothing more can reach it
            stream.flush()
    os._exit(status)
