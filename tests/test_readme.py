"""The README and the docs stay true: the README's first commands, and the synthetic world's
page's table of the web's faults."""

from __future__ import annotations

import pathlib

from wit_builder.synthetic import FAULTS

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
WORLD_PAGE = (ROOT / "docs" / "synthetic-world.md").read_text()


def test_readme_opens_with_the_two_commands():
    lines = README.splitlines()
    block = lines[lines.index("```bash") + 1 : lines.index("```bash") + 3]
    assert block[0].startswith("make demo") and block[1].startswith("make test")


def test_every_fault_is_documented_with_its_status():
    for name, (_, status) in FAULTS.items():
        row = next((line for line in WORLD_PAGE.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"docs/synthetic-world.md lacks a row for fault {name}"
        assert f"`{status}`" in row, f"docs/synthetic-world.md's row for {name} should name status {status}"
