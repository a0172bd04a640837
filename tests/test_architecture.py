"""The package's import structure: one direction of imports between layers, no cycles, and
no imports hidden inside functions (except slow optional dependencies, each commented)."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from galaxysd.model.saving import load_pipeline

PACKAGE = Path(__file__).resolve().parents[1] / "galaxysd"
ENTRY_MODULES = {
    "galaxysd.train",
    "galaxysd.generate",
    "galaxysd.evaluate",
    "galaxysd.explore",
    "galaxysd.augment",
    "galaxysd.discover",
    "galaxysd.data.__main__",
}
# Lower layers never import higher ones: app -> science -> evaluation -> training -> model -> data -> core.
LAYERS = {"core": 0, "data": 1, "model": 2, "training": 3, "evaluation": 4, "science": 5, "app": 6}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    if module in ENTRY_MODULES:
        return len(LAYERS)
    parts = module.split(".")
    return LAYERS.get(parts[1], 0) if len(parts) > 1 else 0


def resolve(target: str, known: set[str]) -> str | None:
    """The package module an import names (``from galaxysd.model import fast`` -> ``galaxysd.model.fast``)."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


def imports_of(path: Path, known: set[str]) -> list[tuple[str, ast.stmt, bool]]:
    """(imported package module, statement, inside a function) for every galaxysd import."""
    tree = ast.parse(path.read_text())
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom):
                assert child.level == 0, f"{path}: relative import (use absolute galaxysd.* imports)"
                base = child.module or ""
                for alias in child.names:
                    name = resolve(f"{base}.{alias.name}", known) or resolve(base, known)
                    if name:
                        found.append((name, child, in_function))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    name = resolve(alias.name, known)
                    if name:
                        found.append((name, child, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
KNOWN = set(MODULES)
GRAPH = {name: imports_of(path, KNOWN) for name, path in MODULES.items()}


def test_package_has_the_pipeline_subpackages():
    for sub in LAYERS:
        if sub != "core":
            init = PACKAGE / sub / "__init__.py"
            assert init.is_file() and ast.get_docstring(ast.parse(init.read_text())), sub


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_layers(module):
    for target, statement, _ in GRAPH[module]:
        if target == "galaxysd" or target == module:
            continue
        assert target not in ENTRY_MODULES, f"{module} imports the entry point {target}"
        assert layer_of(target) <= layer_of(module), (
            f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)}), "
            f"against the flow app -> science -> evaluation -> training -> model -> data -> core"
        )


def test_no_function_level_package_imports():
    hidden = [f"{m}: {t} (line {s.lineno})" for m, edges in GRAPH.items() for t, s, inside in edges if inside]
    assert not hidden, "imports inside functions hide the structure: " + "; ".join(hidden)


def test_function_level_imports_are_commented():
    uncommented = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        here, above = lines[inner.lineno - 1], lines[inner.lineno - 2]
                        if "#" not in here and not above.strip().startswith("#"):
                            uncommented.append(f"{name} line {inner.lineno}")
    assert not uncommented, "function-level imports need a comment saying why: " + ", ".join(uncommented)


def test_no_import_cycles():
    edges = {m: {t for t, _, _ in GRAPH[m] if t != m and t != "galaxysd"} for m in GRAPH}
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            walk(module)


def test_the_checker_sees_a_violation(tmp_path):
    fake = tmp_path / "galaxysd" / "data" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from galaxysd.app.ui import run_selector\n\ndef f():\n    import galaxysd.runs\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "galaxysd"
    try:
        found = imports_of(fake, KNOWN)
    finally:
        PACKAGE = saved
    assert [(t, inside) for t, _, inside in found] == [("galaxysd.app.ui", False), ("galaxysd.runs", True)]
    assert layer_of("galaxysd.app.ui") > layer_of("galaxysd.data.bad")


def test_a_run_saved_before_the_split_still_loads(tmp_path):
    shipped = PACKAGE.parent / "assets" / "default-run" / "model"
    legacy = tmp_path / "model"
    shutil.copytree(shipped, legacy)
    index = json.loads((legacy / "model_index.json").read_text())
    index["tag_encoder"][0] = "galaxysd.encoders"
    (legacy / "model_index.json").write_text(json.dumps(index))
    pipe = load_pipeline(legacy, device="cpu")
    assert type(pipe.tag_encoder).__module__ == "galaxysd.model.encoders"
