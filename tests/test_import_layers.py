"""The package's import graph: no cycle, and no module importing from a layer above its own
(imports inside functions count too). A stage may use the layers below it and another stage's
modules; the chain, the demo and the command line sit on top. Read from the source, so a new
module is checked as soon as it exists."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from wit_builder import stages

PACKAGE = Path(__file__).resolve().parents[1] / "wit_builder"

# Every registered stage's package (``wit_builder.stages``): a new stage needs no entry here.
STAGE_PACKAGES = frozenset(stage.runner.split(":")[0].split(".")[1] for stage in stages.chain())

# Lowest first. A name is a top-level module or subpackage of wit_builder.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset(
        {
            "wit_builder",
            "errors",
            "hashing",
            "schemas",
            "beam_options",
            "stage_settings",
            "stages",
            "counting",
            "progress",
            "stderr",
            "stage_stats",
            "kept_checks",
            "text",
            "wording",
            "atomic",
            "clock",
        }
    ),
    frozenset({"io"}),
    frozenset({"stage_run", "report", "synthetic", "plan", "command_run", "capping", "curation", "publish"}),
    STAGE_PACKAGES,
    frozenset({"chain"}),
    frozenset({"demo_settings", "demo", "cli", "curation_proof"}),
)


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("wit_builder", *path.relative_to(PACKAGE).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Each module's wit_builder imports (as modules of the package), wherever they are written."""

    def resolve(name: str) -> str | None:
        while name not in modules:
            if "." not in name:
                return None
            name = name.rsplit(".", 1)[0]
        return name

    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                target = resolve(name) if name.startswith("wit_builder") else None
                if target and target != module:
                    graph[module].add(target)
    return graph


def _layer(module: str) -> int:
    part = module.split(".")[1] if "." in module else module
    for index, names in enumerate(LAYERS):
        if part in names:
            return index
    raise AssertionError(f"{module}: in no layer; add {part!r} to LAYERS in {__file__}")


def test_no_module_imports_from_a_layer_above_its_own():
    graph = _imports(_modules())
    upward = sorted(
        f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"
        for module, targets in graph.items()
        for target in targets
        if _layer(target) > _layer(module)
    )
    assert upward == []


def test_the_import_graph_has_no_cycle():
    graph = _imports(_modules())
    visiting, done, cycles = [], set(), []

    def visit(module: str) -> None:
        visiting.append(module)
        for target in sorted(graph.get(module, ())):
            if target in visiting:
                cycles.append(" -> ".join([*visiting[visiting.index(target) :], target]))
            elif target not in done:
                visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(_modules()):
        if module not in done:
            visit(module)
    assert cycles == []


def test_the_layer_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The check itself can fail: an io module importing the chain is caught."""
    fake = {"wit_builder.io.x": tmp_path / "x.py", "wit_builder.chain": tmp_path / "chain.py"}
    fake["wit_builder.io.x"].write_text("def f():\n    from wit_builder.chain import run_chain\n")
    fake["wit_builder.chain"].write_text("")
    graph = _imports(fake)
    assert graph["wit_builder.io.x"] == {"wit_builder.chain"}
    assert _layer("wit_builder.chain") > _layer("wit_builder.io.x")
