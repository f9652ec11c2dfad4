"""The command line: every stage listed, help that reads, Beam flags passed through."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from wit_builder import stages
from wit_builder.cli import build_parser, commands, main

# Every registered stage with a command, and the commands around them.
DESIGN_STAGES = (*(stage.name for stage in stages.chain() if stage.command), "verify", "report", "run", "demo")


def test_top_level_help_lists_every_stage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for stage in DESIGN_STAGES:
        assert re.search(rf"^\s+{stage}\s", text, re.M), f"{stage} missing from --help"


@pytest.mark.parametrize("command", [c.name for c in commands()])
def test_each_command_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: wit-builder {command}" in text


@pytest.mark.parametrize("command", [c for c in commands() if c.takes_beam_flags and c.name not in ("run", "demo")])
def test_beam_stages_take_out_and_document_beam_flags(command, capsys):
    with pytest.raises(SystemExit):
        main([command.name, "--help"])
    text = capsys.readouterr().out
    assert "--out" in text
    assert "FnApiRunner" in text and "PipelineOptions" in text


def test_stray_positional_is_an_error(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["balance", "--candidates", str(tmp_path), "--out", str(tmp_path), "oops"])
    assert exit_info.value.code == 2


def test_beam_flag_values_are_not_strays(tmp_path, capsys):
    # "--project my-project" (space-separated value) must reach Beam, not be called stray.
    (tmp_path / "samples").mkdir()
    main(["shard", "--samples", str(tmp_path / "samples"), "--out", str(tmp_path / "s"), "--project", "my-project"])
    err = capsys.readouterr().err
    assert "unrecognised" not in err and "holds no .parquet file" in err  # parsed: the stage looked for samples


def test_non_beam_command_rejects_unknown_flags(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["world", "--out", str(tmp_path), "--runner=DataflowRunner"])
    assert exit_info.value.code == 2


def test_required_flags_are_enforced():
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["harvest", "--out", "x"])
    assert exit_info.value.code == 2


def test_console_scripts_are_installed():
    for script in ("wit-builder", "wit-train"):
        path = shutil.which(script) or str(__import__("pathlib").Path(sys.executable).parent / script)
        result = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout
