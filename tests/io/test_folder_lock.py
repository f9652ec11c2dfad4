"""The folder lock: a live holder refuses, a dead one is taken over, one process may re-enter."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from wit_builder.errors import UsageError
from wit_builder.io.folder_lock import LOCK, command_scope, is_stale, lock_out, read_lock


def test_a_lock_is_held_for_the_scope_and_released_after(tmp_path):
    with command_scope("wit-builder test"):
        lock_out(str(tmp_path))
        lock_out(str(tmp_path))  # the same process again: a run's stage in the run's folder
        record = read_lock(str(tmp_path))
        assert record["pid"] == os.getpid() and record["host"] == socket.gethostname()
        assert record["command"] == "wit-builder test"
    assert not (tmp_path / LOCK).exists()


def test_outside_a_command_scope_nothing_is_locked(tmp_path):
    lock_out(str(tmp_path))
    assert not (tmp_path / LOCK).exists()


def test_staleness():
    now = time.time()
    me = {"host": socket.gethostname(), "pid": os.getpid(), "heartbeat": now}
    assert not is_stale(me, now)
    assert is_stale({**me, "heartbeat": now - 3600}, now)  # no heartbeat for an hour
    assert is_stale({**me, "process_start": "not-my-start-time"}, now)  # the id was reused
    assert is_stale({k: v for k, v in me.items() if k != "heartbeat"}, now)
    assert not is_stale({"host": "elsewhere", "pid": 1, "heartbeat": now - 60}, now)


def test_a_damaged_lock_file_is_looked_at_again_then_taken_over(tmp_path, capsys):
    (tmp_path / LOCK).write_text("{not json")
    with command_scope("wit-builder test"):
        lock_out(str(tmp_path))
        assert read_lock(str(tmp_path))["pid"] == os.getpid()
    assert "taking over the stale lock" in capsys.readouterr().err


def test_a_live_holder_in_the_parent_folder_refuses(tmp_path):
    record = {"host": "elsewhere", "pid": 7, "command": "wit-builder run", "started": 0, "heartbeat": time.time()}
    (tmp_path / LOCK).write_text(json.dumps(record))
    with command_scope("wit-builder harvest"), pytest.raises(UsageError, match="pid 7 on elsewhere"):
        lock_out(str(tmp_path / "harvest"))
