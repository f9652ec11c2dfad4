"""One writer per output folder: a lock file that names its holder, and notices a dead one.

Two commands writing one folder at once corrupt each other: one empties what the other is
writing, or "resumes" work the other has not finished. So every command that writes a folder
holds ``FOLDER/_LOCK`` while it runs: a small JSON file with the holder's host, process id,
command and start time, and a heartbeat the holder refreshes every ``HEARTBEAT_S`` seconds. A
second command finds it and refuses with one line naming the holder.

A lock whose holder is gone is stale and is taken over (with a note on stderr): on the same
host, when no process has the recorded id (or it has another start time: the id was reused);
from another host, when its heartbeat is older than ``STALE_S``. The lock is also refused when
the folder's parent is locked by another process (``wit-builder run`` on ``OUT`` while a stage
command writes ``OUT/harvest``). One process may take a lock it already holds (a run's stages).

Commands take locks through ``lock_out`` inside a ``command_scope`` (the command line opens one
around every command; ``stage_folders.check_out`` locks each ``--out``), and every lock taken
in a scope is released when it ends. Library calls outside a scope lock nothing.

The lock file is created exclusively on local disks (``O_EXCL``). On object stores, which have
no exclusive create through fsspec, it is written and read back: two writers starting in the
same second may both pass. A run on a bucket is usually started once, by one launcher.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import fsspec

from wit_builder.errors import UsageError

LOCK = "_LOCK"
HEARTBEAT_S = 30.0
STALE_S = 600.0
_held: dict[str, int] = {}  # canonical folder -> how many times this process holds it
_hearts: dict[str, threading.Event] = {}  # canonical folder -> its heartbeat's stop
_held_guard = threading.Lock()


def _process_start(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` (Linux), telling a reused id from its first owner."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    now = _process_start(pid)
    return started is None or now is None or now == started


def _me() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(), "process_start": _process_start(os.getpid())}


def read_lock(folder: str) -> dict | None:
    """The lock record of ``folder``, or None; a damaged file reads as an empty record."""
    path = f"{folder.rstrip('/')}/{LOCK}"
    filesystem, _ = fsspec.core.url_to_fs(path)
    try:
        with filesystem.open(path, "rt", encoding="utf-8") as handle:
            record = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def is_stale(record: dict, now: float | None = None) -> bool:
    """Whether a lock's holder is gone (see the module's docstring)."""
    now = time.time() if now is None else now
    heartbeat = record.get("heartbeat")
    if not isinstance(heartbeat, int | float) or now - heartbeat > STALE_S:
        return True
    if record.get("host") == socket.gethostname() and isinstance(record.get("pid"), int):
        return not _alive(record["pid"], record.get("process_start"))
    return False


def is_mine(record: dict) -> bool:
    me = _me()
    return record.get("host") == me["host"] and record.get("pid") == me["pid"]


def describe(record: dict) -> str:
    started = record.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if isinstance(started, int | float) else "?"
    command, pid, host = (record.get(key, "?") for key in ("command", "pid", "host"))
    return f"{command} (pid {pid} on {host}, since {when})"


def _create(path: str, record: dict) -> bool:
    """Create the lock file unless it exists; True when this process made it."""
    filesystem, _ = fsspec.core.url_to_fs(path)
    data = json.dumps(record, indent=2) + "\n"
    if "file" in (filesystem.protocol if isinstance(filesystem.protocol, tuple) else (filesystem.protocol,)):
        try:
            descriptor = os.open(filesystem._strip_protocol(path), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(data)
        return True
    if filesystem.exists(path):
        return False
    with filesystem.open(path, "wt", encoding="utf-8") as handle:
        handle.write(data)
    with filesystem.open(path, "rt", encoding="utf-8") as handle:
        return json.load(handle).get("token") == record["token"]


def _refuse_if_held(folder: str, record: dict | None, what: str) -> None:
    if record is not None and not is_mine(record) and not is_stale(record):
        raise UsageError(
            f"{what} {folder} is in use by {describe(record)}; wait for it to end "
            f"(if that process is gone on another host, remove {folder.rstrip('/')}/{LOCK})"
        )


def acquire(folder: str, command: str) -> bool:
    """Take ``folder``'s lock for this process; False when it already held it (nothing to release)."""
    from wit_builder.io.paths import canonical

    root = folder.rstrip("/")
    key = canonical(root)
    with _held_guard:
        if key in _held:
            _held[key] += 1
            return False
    parent = root.rsplit("/", 1)[0] if "/" in root.split("://")[-1] else None
    if parent:
        _refuse_if_held(parent, read_lock(parent), "--out is inside")
    path = f"{root}/{LOCK}"
    filesystem, _ = fsspec.core.url_to_fs(path)
    filesystem.makedirs(root, exist_ok=True)
    now = time.time()
    record = {**_me(), "command": command, "started": now, "heartbeat": now, "token": os.urandom(8).hex()}
    for attempt in range(6):
        if _create(path, record):
            with _held_guard:
                _held[key] = 1
            return True
        existing = read_lock(root)
        if existing == {} and attempt < 3:  # being written this instant, or left damaged: look again
            time.sleep(0.2)
            continue
        _refuse_if_held(root, existing, "--out")
        if existing is not None:
            print(f"[lock] taking over the stale lock of {root}: {describe(existing)} is gone", file=sys.stderr)
            with suppress(FileNotFoundError):
                filesystem.rm(path)
    raise UsageError(f"--out {folder}: could not take its lock ({path}); another command keeps taking it")


def release(folder: str) -> None:
    """Give up one hold of ``folder``'s lock; the file (and its heartbeat) goes with the last."""
    from wit_builder.io.paths import canonical

    key = canonical(folder.rstrip("/"))
    with _held_guard:
        _held[key] -= 1
        if _held[key]:
            return
        del _held[key]
        stop = _hearts.pop(key, None)
    if stop is not None:
        stop.set()
    path = f"{folder.rstrip('/')}/{LOCK}"
    filesystem, _ = fsspec.core.url_to_fs(path)
    record = read_lock(folder)
    if record is not None and is_mine(record):
        with suppress(FileNotFoundError):
            filesystem.rm(path)


def _beat(folder: str, stop: threading.Event) -> None:
    from wit_builder.io.json_files import write_json

    path = f"{folder.rstrip('/')}/{LOCK}"
    while not stop.wait(HEARTBEAT_S):
        record = read_lock(folder)
        if not record or not is_mine(record):
            return
        record["heartbeat"] = time.time()
        with suppress(OSError):  # a store that failed this once: the next beat tries again
            write_json(path, record)


_scopes: list[tuple[str, list[str]]] = []  # (command, folders locked in it), innermost last


@contextmanager
def command_scope(command: str) -> Iterator[None]:
    """The life of one command (``wit-builder harvest``, ``wit-builder run``): every folder
    ``lock_out`` locks inside the block is held until it ends."""
    _scopes.append((command, []))
    try:
        yield
    finally:
        _, folders = _scopes.pop()
        for folder in reversed(folders):
            release(folder)


def lock_out(folder: str) -> None:
    """Lock a command's ``--out`` for the rest of its command scope (``UsageError`` when another
    process holds it); outside a command scope (a library call, a test) nothing is locked."""
    if not _scopes:
        return
    command, folders = _scopes[-1]
    if acquire(folder, command):
        stop = threading.Event()
        threading.Thread(target=_beat, args=(folder, stop), name="lock-heartbeat", daemon=True).start()
        from wit_builder.io.paths import canonical

        with _held_guard:
            _hearts[canonical(folder.rstrip("/"))] = stop
    folders.append(folder)
