"""Every third-party module the library imports is a declared dependency (a fresh install has it)."""

from __future__ import annotations

import ast
import pathlib
import re
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
DISTRIBUTION = {
    "PIL": "pillow",
    "ahocorasick": "pyahocorasick",
    "apache_beam": "apache-beam",
    "http_sfv": "http-sfv",
    "icu": "pyicu-wheels",
    "fasttext": "fasttext-predict",
}
# Modules the library uses when installed and does without otherwise (the import is guarded),
# with the extras that install them: faiss comes as faiss-cpu or faiss-gpu, never both.
OPTIONAL = {"faiss": ("faiss", "gpu"), "open_clip": ("curate",)}
# Subpackages that only work with an extra installed, and that extra: the trainer and the embed
# stage need torch.
EXTRA_PACKAGES = {"wit_builder/train": "train", "wit_builder/embed": "train"}


def imported_modules(folder: str = "wit_builder", skip: tuple[str, ...] = ()) -> set[str]:
    modules: set[str] = set()
    for path in (ROOT / folder).rglob("*.py"):
        if any(str(path.relative_to(ROOT)).startswith(prefix) for prefix in skip):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module.split(".")[0])
    return {m for m in modules if m not in sys.stdlib_module_names and m != "wit_builder"}


def test_library_imports_are_declared():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = {re.split(r"[<>=;\[ ]", spec, maxsplit=1)[0].lower() for spec in config["project"]["dependencies"]}
    outside = imported_modules(skip=tuple(EXTRA_PACKAGES))
    missing = {DISTRIBUTION.get(m, m).lower() for m in outside - set(OPTIONAL)} - declared
    assert not missing, f"add to [project] dependencies: {sorted(missing)}"


def test_extra_only_packages_import_only_the_base_and_their_extra():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = {re.split(r"[<>=;\[ ]", spec, maxsplit=1)[0].lower() for spec in config["project"]["dependencies"]}
    for folder, extra in EXTRA_PACKAGES.items():
        allowed = declared | {
            re.split(r"[<>=;\[ ]", s, maxsplit=1)[0].lower() for s in config["project"]["optional-dependencies"][extra]
        }
        missing = {DISTRIBUTION.get(m, m).lower() for m in imported_modules(folder) - set(OPTIONAL)} - allowed
        assert not missing, f"add to the [{extra}] extra: {sorted(missing)}"


def test_optional_imports_have_their_extras_and_a_fallback():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = config["project"]["optional-dependencies"]
    for module, names in OPTIONAL.items():
        assert all(name in extras for name in names), (module, names)
        guarded = [path for path in (ROOT / "wit_builder").rglob("*.py") if _imports_guarded(path, module)]
        assert guarded, f"{module} must be imported inside try/except ImportError"


def _imports_guarded(path: pathlib.Path, module: str) -> bool:
    """True when ``path`` imports ``module`` in the body of a ``try`` that catches ImportError."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Try):
            continue
        catches = {
            name.id
            for handler in node.handlers
            for name in ast.walk(handler.type)
            if handler.type is not None
            if isinstance(name, ast.Name)
        }
        imported = {
            alias.name.split(".")[0]
            for statement in node.body
            for inner in ast.walk(statement)
            if isinstance(inner, ast.Import)
            for alias in inner.names
        }
        if module in imported and catches & {"ImportError", "ModuleNotFoundError"}:
            return True
    return False
