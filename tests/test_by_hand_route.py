"""The demo's by-hand route, as ``pipelines/demo.toml`` and docs/running.md write it: one terminal
serves the world, another runs the config. It must download what the web serves, and a second
world written on another port must be noticed, not fetched from a web that is gone."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(cwd: Path, port: int) -> subprocess.Popen:
    """``wit-builder world --out runs/demo/world --serve --port PORT``, once it says it serves."""
    command = [
        sys.executable,
        "-m",
        "wit_builder.cli",
        "world",
        "--out",
        "runs/demo/world",
        "--serve",
        "--port",
        str(port),
    ]
    server = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    for line in server.stdout:
        if "serving its web at" in line:
            return server
        assert time.monotonic() < deadline and server.poll() is None, line
    raise AssertionError(f"the world server ended: {server.wait()}")


def run(cwd: Path, *flags: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "wit_builder.cli", "run", "--config", "pipelines/demo.toml", *flags]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_the_by_hand_route_downloads_what_the_web_serves(tmp_path):
    (tmp_path / "pipelines").mkdir()
    shutil.copy(ROOT / "pipelines" / "demo.toml", tmp_path / "pipelines" / "demo.toml")
    server = serve(tmp_path, free_port())
    try:
        first = run(tmp_path, "--to", "tokenizer")
        assert first.returncode == 0, first.stderr
        download = json.loads((tmp_path / "runs/demo/run/download/stats.json").read_text())
        assert download["ok"] > 300 and download["adds_up"]
        assert "tokenizer  done" in first.stdout and "train      not run" in first.stdout
    finally:
        server.terminate()
        server.wait()
    server = serve(tmp_path, free_port())  # the world again, on another port: every URL changes
    try:
        second = run(tmp_path, "--to", "download")
        assert second.returncode == 0, second.stderr
        assert "queries: up to date" in second.stdout and "its inputs changed since it last finished" in second.stdout
        assert json.loads((tmp_path / "runs/demo/run/download/stats.json").read_text())["ok"] > 300
    finally:
        server.terminate()
        server.wait()


@pytest.mark.slow
def test_the_route_against_a_web_that_is_down_fails_at_download_naming_the_host(tmp_path):
    (tmp_path / "pipelines").mkdir()
    shutil.copy(ROOT / "pipelines" / "demo.toml", tmp_path / "pipelines" / "demo.toml")
    port = free_port()
    server = serve(tmp_path, port)
    server.terminate()
    server.wait()  # the world stays on disk; its web is gone
    done = run(tmp_path, "--to", "shard")
    assert done.returncode == 1
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and "wit-builder run: download: 0 of" in err[0] and "connection_error" in err[0], err
    assert f"127.0.0.1:{port}" in err[0] and "is the web up?" in err[0]
    assert "shard      not run" in done.stdout
