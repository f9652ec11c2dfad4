"""The two ways a command ends badly, and the exit status each gives: the one place that maps
errors to exit statuses, for ``wit-builder``, ``wit-builder run`` and ``wit-train`` alike.

- ``UsageError`` (exit 2): the command as given cannot be right, and nothing was done: a path
  that does not exist, an empty folder, another stage's folder, an ``--out`` that cannot be
  written or already holds another stage's output, a setting out of range.
- ``StageFailed`` (exit 1): the command was right but the run could not do its work: none of
  its inputs could be read, a shard failed its checks, a file between stages is damaged
  (``DamagedFile``).

Both carry one line for a person: the path, and what was expected there. Any other exception
(a library's own ``ValueError``, a bug) is exit status 1, with a hint that ``--debug`` shows
where it came from; only the project's own usage errors give exit 2.
"""

from __future__ import annotations


class UsageError(ValueError):
    """The arguments cannot be right; exit status 2."""


class StageFailed(RuntimeError):
    """The run could not do its work; exit status 1."""


class DamagedFile(StageFailed, ValueError):
    """A file between stages that is not what it must be (not JSON, or JSON of the wrong shape):
    the message names the file and what is wrong; exit status 1. A ``ValueError`` too, so the
    readers that redo a unit on a damaged record of their own (``read_work_json``) still do."""


EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def exit_status(error: BaseException) -> int:
    """The exit status a command ends with after ``error``."""
    return EXIT_USAGE if isinstance(error, UsageError) else EXIT_ERROR
