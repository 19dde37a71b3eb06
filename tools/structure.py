"""Structure gate: no class over MAX_CLASS_LINES lines anywhere, no import circle inside our packages.

Run by ``make structure`` (and so by ``make lint``). Exit status 1 on any finding: there is no
allow-list (issue 10 emptied it). Complexity per function is ruff's job (C901, PLR0912,
PLR0915 in pyproject.toml); this script covers what ruff does not measure.

Import circles count every import statement, including imports inside functions (they only hide
a circle until the function runs) and under ``if TYPE_CHECKING:`` (the modules still depend on each
other: issue 10 names ``accounts -> vendors -> vendors.base -> accounts``, closed by such imports).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_CLASS_LINES = 200
SKIP_DIRS = {".venv", ".venv-scan", ".aws-sam", ".local", ".git", "node_modules", "__pycache__"}
#: package name -> the folder holding it (the circle check covers these packages)
PACKAGES = {
    "sms_gateway": ROOT / "layers" / "shared" / "sms_gateway",
    "local_runner": ROOT / "local_runner",
    "simulators": ROOT / "simulators",
}


@dataclass(frozen=True)
class Finding:
    key: str  # "class path::Name" or "cycle a <-> b"
    detail: str


def python_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        if not SKIP_DIRS.intersection(path.relative_to(root).parts):
            yield path


def large_classes(root: Path, limit: int = MAX_CLASS_LINES) -> list[Finding]:
    findings = []
    for path in python_files(root):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    rel = path.relative_to(root).as_posix()
                    findings.append(Finding(f"class {rel}::{node.name}", f"{lines} lines (limit {limit})"))
    return findings


def module_names(packages: dict[str, Path]) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the packages."""
    names = {}
    for package, folder in packages.items():
        for path in python_files(folder):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            names[".".join(parts)] = path
    return names


def _imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    yield base
    # ``from package import name`` imports the submodule ``name`` when there is one
    yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges = {
            target
            for node in _imports(tree)
            for target in _targets(node, module, is_package)
            if target in modules and target != module
        }
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = _pop_component(stack, on_stack, node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _pop_component(stack: list[str], on_stack: set[str], root: str) -> list[str]:
    component = []
    while True:
        member = stack.pop()
        on_stack.discard(member)
        component.append(member)
        if member == root:
            return component


def import_cycles(packages: dict[str, Path]) -> list[Finding]:
    graph = import_graph(module_names(packages))
    return [
        Finding(f"cycle {' <-> '.join(component)}", "these modules import each other")
        for component in cycles(graph)
    ]


def main() -> int:
    findings = large_classes(ROOT) + import_cycles(PACKAGES)
    for finding in findings:
        print(f"FAIL {finding.key}: {finding.detail}")
    if findings:
        return 1
    print(f"structure: ok (no class over {MAX_CLASS_LINES} lines, no import circle)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
