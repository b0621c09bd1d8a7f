"""The project's layout (issue 17, docs/ARCHITECTURE.md): read from the source with ast, nothing imported.

- no import circle between the project's modules (lazy imports inside functions count too;
  imports under ``if TYPE_CHECKING:`` do not: they never run);
- no class of the program over 400 lines; no module of live/ or cli/ over 450 lines;
- live/ never imports Qt (PySide6) or the window (ui/).
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("adapters", "config", "core", "live", "cli", "research", "ui", "tools", "tests")
MAX_CLASS_LINES = 400
MAX_MODULE_LINES = 450


def _modules() -> dict[str, Path]:
    found = {"main": ROOT / "main.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    """Every import that can run (skipping ``if TYPE_CHECKING:`` bodies)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _targets(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The project modules an import statement loads (the package itself excluded when a module of it is named)."""
    names: set[str] = set()
    if isinstance(node, ast.Import):
        candidates = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([base] if base else []))
        candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
    for candidate in candidates:
        while candidate and candidate not in MODULES:
            candidate = candidate.rpartition(".")[0]
        if candidate and candidate != module:
            names.add(candidate)
    return names


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges: set[str] = set()
        for node in _import_nodes(tree):
            edges |= _targets(module, path, node)
        # A package's __init__ is loaded before its modules; an edge to it is not a circle through them.
        graph[module] = {target for target in edges if not module.startswith(target + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_circle_and_passes_a_line():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_circle_between_project_modules():
    graph = _graph()
    assert graph["live.service"] >= {"live.orders", "live.reconcile", "live.commands", "live.status"}
    assert _cycles(graph) == []


def test_no_class_over_400_lines():
    """Every class of the project, the fake exchange's included (issue 17: "no class in the project")."""
    too_long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_CLASS_LINES:
                    too_long.append(f"{module}.{node.name}: {length} lines")
    assert too_long == []


def test_no_module_of_live_or_cli_over_450_lines():
    too_long = [f"{module}: {lines} lines" for module, path in MODULES.items()
                if module.split(".")[0] in ("live", "cli")
                and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES]
    assert too_long == []


def test_live_never_imports_qt_or_the_window():
    offending = []
    for module, path in MODULES.items():
        if module.split(".")[0] != "live":
            continue
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            offending += [f"{module} imports {name}" for name in names
                          if name.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "ui")]
    assert offending == []
