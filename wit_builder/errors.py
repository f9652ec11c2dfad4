"""The two ways a command ends badly, and the exit status each gives (``wit_builder.cli``).

- ``UsageError`` (exit 2): the command as given cannot be right, and nothing was done: a path
  that does not exist, an empty folder, another stage's folder, an ``--out`` that cannot be
  written or already holds another stage's output, a setting out of range.
- ``StageFailed`` (exit 1): the command was right but the run could not do its work: none of
  its inputs could be read, a shard failed its checks.

Both carry one line for a person: the path, and what was expected there.
"""

from __future__ import annotations


class UsageError(ValueError):
    """The arguments cannot be right; exit status 2."""


class StageFailed(RuntimeError):
    """The run could not do its work; exit status 1."""
