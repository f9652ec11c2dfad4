"""An error is one line on stderr, whether it was raised in the command or in a Beam worker,
in this process or in a worker process of its own; ``--debug`` shows the traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from wit_builder.cli import main


@pytest.fixture
def pairs(tmp_path):
    (tmp_path / "q.txt").write_text("red circle\n")
    (tmp_path / "pairs.tsv").write_text("url\tcaption\nhttp://a.test/1.jpg\ta red circle\n")
    return [
        "harvest",
        "--queries",
        str(tmp_path / "q.txt"),
        "--pairs",
        str(tmp_path / "pairs.tsv"),
        "--out",
        str(tmp_path / "out"),
    ]


def boom(*_args, **_kwargs):
    raise OSError("No space left on device: /data/out")


def test_an_error_raised_in_a_beam_worker_is_one_line(pairs, capfd, monkeypatch):
    monkeypatch.setattr("wit_builder.harvest.pipeline.WriteShardFn.process", boom)
    assert main(pairs) == 1
    err = capfd.readouterr().err.strip()  # the file descriptor: logging and C-level writes too
    assert err.splitlines() == [err], err
    assert err.startswith("wit-builder harvest: OSError: No space left on device") and "--debug" in err


def test_with_debug_the_worker_traceback_is_shown(pairs, capfd, monkeypatch):
    monkeypatch.setattr("wit_builder.harvest.pipeline.WriteShardFn.process", boom)
    with pytest.raises(Exception, match="No space left on device"):
        main(["--debug", *pairs])
    assert "Traceback" in capfd.readouterr().err  # Beam's log of the worker's traceback


def test_a_usage_error_of_the_arguments_is_one_line(capfd):
    with pytest.raises(SystemExit) as stopped:
        main(["shard", "--samples"])
    err = capfd.readouterr().err.strip()
    assert stopped.value.code == 2 and err.splitlines() == [err] and "expected one argument" in err


def test_an_error_in_a_worker_process_is_one_line(pairs, tmp_path):
    """With --direct_running_mode=multi_processing the worker is a process of its own, started by
    Beam with this environment: a sitecustomize on PYTHONPATH breaks the writer there."""
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        textwrap.dedent("""
        import os

        if "CONTROL_API_SERVICE_DESCRIPTOR" in os.environ:  # Beam's worker processes only
            import wit_builder.harvest.pipeline as pipeline

            def boom(*args, **kwargs):
                raise OSError("No space left on device: /data/out")

            pipeline.WriteShardFn.process = boom
    """)
    )
    argv = [*pairs, "--direct_num_workers=2", "--direct_running_mode=multi_processing"]
    env = {"PYTHONPATH": str(hook), "PATH": "/usr/bin:/bin", "NO_ALBUMENTATIONS_UPDATE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "wit_builder.cli", *argv], capture_output=True, text=True, env=env, timeout=300
    )
    err = done.stderr.strip()
    assert done.returncode == 1 and err.splitlines() == [err], err
    assert "No space left on device" in err
