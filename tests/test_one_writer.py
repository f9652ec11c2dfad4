"""Every output file is written one way: whole, through ``wit_builder.atomic``. This walks the
package's source and fails on a file opened for writing anywhere else (``open``, ``fsspec.open``,
``filesystem.open``, ``Path.open`` in a write mode, ``write_text``, ``write_bytes``), so a new
writer cannot leave half a file behind a kill."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "wit_builder"

# Where a write that is not an output is allowed, and why.
ALLOWED = {
    "atomic.py": "the one writer",
    "io/folder_lock.py": "a lock is created only if absent (O_EXCL), which a rename cannot do",
    "train/metrics_log.py": "the training log is appended to, a line a record (its start is written whole)",
    "stderr.py": "a second handle on the terminal's stderr, not a file",
    "download/encoding.py": "a memfd Pillow encodes into and that is read back: no path, not an output",
}
# The synthetic world generates the tests' and the demo's inputs on a local disk, before any
# stage reads them; its files are not outputs of the chain.
INPUT_GENERATORS = ("synthetic/",)
WRITE_MODES = ("w", "a", "x", "+")


def _mode(call: ast.Call) -> str | None:
    """The mode of an ``open``-like call, when it is written as a string."""
    candidates = [kw.value for kw in call.keywords if kw.arg == "mode"]
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    position = 0 if isinstance(call.func, ast.Attribute) and name == "open" and _is_path_open(call) else 1
    if len(call.args) > position:
        candidates.append(call.args[position])
    for node in candidates:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
    return None


def _is_path_open(call: ast.Call) -> bool:
    """``path.open("wb")``: a method ``open`` whose first argument is the mode itself."""
    return bool(call.args) and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)


def writes(source: str) -> list[int]:
    """The lines of ``source`` that open a file for writing, or write one, outside the helper."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in ("write_text", "write_bytes"):
            lines.append(node.lineno)
        elif name in ("open", "fdopen"):
            mode = _mode(node)
            if mode is not None and any(flag in mode for flag in WRITE_MODES):
                lines.append(node.lineno)
    return lines


def test_the_walk_finds_every_kind_of_write():
    source = (
        'open(p, "w")\nfsspec.open(p, "wb")\nfs.open(p, mode="wt")\nPath(p).open("wb")\n'
        'Path(p).write_text("x")\np.write_bytes(b"")\nopen(p)\nfsspec.open(p, "rb")\nos.fdopen(d, "w")\n'
    )
    assert writes(source) == [1, 2, 3, 4, 5, 6, 9]


# Modules that recognise a ``.partial`` file (to leave it out of a fingerprint or a removal),
# which is not writing one.
RECOGNISE_PARTIALS = ("io/fingerprint.py", "io/stage_folders.py")


def partial_names(source: str) -> list[int]:
    """The lines of ``source`` whose code (not a docstring) spells a ``.partial`` name: a
    write-then-rename written out by hand."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and ".partial" in node.value
        and id(node) not in docstrings
    ]


def test_no_partial_file_is_written_by_hand():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == "atomic.py" or relative in RECOGNISE_PARTIALS or relative.startswith(INPUT_GENERATORS):
            continue
        offenders += [f"{relative}:{line}" for line in partial_names(path.read_text(encoding="utf-8"))]
    assert not offenders, f"write these whole with wit_builder.atomic, not by a hand-made .partial: {offenders}"


def test_every_output_is_written_through_the_one_writer():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in ALLOWED or relative.startswith(INPUT_GENERATORS):
            continue
        offenders += [f"{relative}:{line}" for line in writes(path.read_text(encoding="utf-8"))]
    assert not offenders, f"write these through wit_builder.atomic (atomic_output, write_atomically): {offenders}"


def test_a_writer_that_fails_leaves_the_old_file_and_no_partial(tmp_path):
    import pytest

    from wit_builder.atomic import atomic_output, write_atomically

    path = str(tmp_path / "stats.json")
    write_atomically(path, '{"old": 1}\n')
    with pytest.raises(RuntimeError), atomic_output(path, "wt") as handle:
        handle.write('{"new": ')
        raise RuntimeError("killed halfway")
    assert (tmp_path / "stats.json").read_text() == '{"old": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stats.json"]
    with atomic_output(path, "wt") as handle:
        handle.write('{"new": 2}\n')
        assert (tmp_path / "stats.json").read_text() == '{"old": 1}\n'  # readers see the old one meanwhile
    assert (tmp_path / "stats.json").read_text() == '{"new": 2}\n'
    with pytest.raises(ValueError, match="whole file"), atomic_output(path, "at"):
        pass
