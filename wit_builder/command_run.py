"""How every command of both executables (``wit-builder``, ``wit-train``) runs its work: inside
its command scope (its folder locks given back however it ends) and with an error said as one
line naming the command, the traceback only with ``--debug``. One handler, so the two commands
cannot drift apart in what a person sees when something goes wrong."""

from __future__ import annotations

from collections.abc import Callable

from wit_builder.errors import EXIT_OK
from wit_builder.io.folder_lock import command_scope
from wit_builder.stderr import report_error


def run_command(title: str, debug: bool, work: Callable[[], int | None]) -> int:
    """``work()``'s exit status (None is success); an exception is one line on stderr that
    starts with ``title`` (``wit-builder download``, ``wit-train eval``) and its exit status."""
    try:
        with command_scope(title):
            return int(work() or EXIT_OK)
    except Exception as error:  # one line for a person; the traceback only with --debug
        if debug:
            raise
        return report_error(title, error)
