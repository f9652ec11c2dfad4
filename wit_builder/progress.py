"""A live progress line while a stage's pipeline runs, on any runner.

Beam's metrics reach the launching process only when a job ends on the local runners, so the
line counts what the stage has already committed to its output folder (download's finished
chunks, balance's finished files, shard's finished shards), through fsspec: it works the same
for a local folder and a bucket. Each line gives units done, the rate and an ETA; a stage with
no such units (queries, harvest) shows how long it has run.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import fsspec


@dataclass(frozen=True)
class Progress:
    """What a stage counts: ``done()`` of ``total`` ``unit``s."""

    unit: str
    total: int
    done: Callable[[], int]


def files_in(pattern: str) -> Callable[[], int]:
    """A counter of the files matching ``pattern`` (finished outputs; ``.partial`` ones are not)."""

    def count() -> int:
        try:
            filesystem, _ = fsspec.core.url_to_fs(pattern)
            return len(filesystem.glob(pattern))
        except (OSError, ValueError):
            return 0

    return count


def progress_line(stage: str, progress: Progress | None, done: int, seconds: float) -> str:
    if progress is None or not progress.total:
        return f"[{stage}] running for {seconds:,.0f}s"
    share = done / progress.total
    rate = done / seconds if seconds > 0 else 0.0
    eta = f", eta {(progress.total - done) / rate:,.0f}s" if 0 < done < progress.total and rate > 0 else ""
    return f"[{stage}] {done:,}/{progress.total:,} {progress.unit} ({100 * share:.0f}%), {rate:,.2f}/s{eta}"


PROGRESS_EVERY = 5.0  # seconds between progress lines


@contextmanager
def live_progress(stage: str, progress: Progress | None, every: float | None = None, stream=None) -> Iterator[None]:
    """Print a progress line every ``every`` seconds (``PROGRESS_EVERY``) while the block runs
    (when it changed), on standard output: standard error is for what went wrong."""
    stream = stream or sys.stdout
    every = PROGRESS_EVERY if every is None else every
    stop = threading.Event()
    started = time.monotonic()

    def report() -> None:
        last = None
        while not stop.wait(every):
            done = progress.done() if progress is not None else 0
            line = progress_line(stage, progress, done, time.monotonic() - started)
            if progress is None or done != last:
                print(line, file=stream, flush=True)
                last = done

    thread = threading.Thread(target=report, name=f"{stage}-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
