"""The commit-msg hook (``.githooks/commit-msg``) holds commits to a subject of at most 72
characters and a body that says why."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

HOOK = Path(__file__).resolve().parents[1] / ".githooks" / "commit-msg"


@pytest.mark.parametrize(
    ("message", "accepted"),
    [
        ("Split the queries pipeline\n\nIt mixed readers, joins and the writer.\n", True),
        ("Split the queries pipeline\n", False),  # no body
        ("Split the queries pipeline\n\n# only a comment\n", False),
        ("x" * 73 + "\n\nwhy\n", False),
        ("é" * 72 + "\n\nwhy\n", True),  # characters, not bytes
    ],
)
def test_the_hook_checks_subject_and_body(tmp_path, message, accepted):
    path = tmp_path / "MSG"
    path.write_text(message, encoding="utf-8")
    result = subprocess.run(["sh", str(HOOK), str(path)], capture_output=True, text=True, env={"LC_ALL": "C.UTF-8"})
    assert (result.returncode == 0) == accepted, result.stderr
