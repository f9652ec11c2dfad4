"""Every Python and shell block of the README and the docs runs as written, on the demo's outputs.

The blocks are read with ``pytest-codeblocks``'s reader (``extract_from_file``: its syntax, its
code and its ``<!--pytest.mark.skip(...)-->`` marks). A block that cannot run here (a GPU
cluster, a cloud registry, BigQuery) carries such a mark, and a visible "*Not run by the tests:
why.*" line beside it, so a reader knows too. The others run in a folder holding a finished demo
(``runs/demo``: its world, its run and a trained tiny model), each in a fresh process, bash with
``-euo pipefail``, with the project's commands on the PATH; each must end with status 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_codeblocks import extract_from_file

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*.md") if p.name != "index.md")]
BLOCKS = [
    (page, block) for page in PAGES for block in extract_from_file(page) if block.syntax in ("python", "bash", "sh")
]
IDS = [f"{page.relative_to(ROOT)}:{block.lineno}" for page, block in BLOCKS]
VISIBLE = "*Not run by the tests:"


def skipped(block) -> str | None:
    """The reason of a block's skip mark, or None."""
    return next((mark for mark in block.marks if "skip" in mark), None)


def test_every_block_is_run_or_says_visibly_why_not():
    assert len(BLOCKS) >= 20
    for page, block in BLOCKS:
        lines = page.read_text().splitlines()
        end = block.lineno + block.code.count("\n") + 1  # the closing fence
        near = "\n".join(lines[max(0, block.lineno - 6) : block.lineno] + lines[end : end + 2])
        if skipped(block):
            assert VISIBLE in near, f"{page.name}:{block.lineno} is skipped without a visible reason"
        else:
            assert VISIBLE not in near, f"{page.name}:{block.lineno} says it is not run, and it is"


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(ROOT)  # `python -m tests.support...` as from a checkout
    return env


@pytest.mark.slow
@pytest.mark.parametrize(("page", "block"), BLOCKS, ids=IDS)
def test_the_block_runs_as_written(page, block, finished_demo):
    folder = finished_demo
    if reason := skipped(block):
        pytest.skip(reason)
    if block.syntax == "python":
        command = [sys.executable, "-c", block.code]
    else:
        command = ["bash", "-euo", "pipefail", "-c", block.code]
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=1200, env=environment())
    assert done.returncode == 0, (
        f"{page.name}:{block.lineno}\n{block.code}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
