"""No import circles in node/ and simulator/: every module's imports are read with `ast` (at module level,
under TYPE_CHECKING and inside functions alike), and the graph of project modules must have no cycle.

A circle that a refactor in flight is removing may be listed in KNOWN_CYCLES by the exact set of its modules.
The list is meant to be emptied: an entry that no longer matches a circle fails the test as well.
"""

from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("node", "simulator")

KNOWN_CYCLES: list[frozenset[str]] = []
"""Circles being removed by work in flight, each the set of modules of one strongly connected component."""


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of PACKAGES below `root` (a package by its __init__)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Project module -> the project modules it imports.

    `import a.b` imports a.b; `from a import b` imports a.b if that is a module, else a. The package
    __init__ that Python runs on the way to a submodule is not counted: it would make a circle of every
    package that re-exports its parts. An import of a module outside node/ and simulator/ is ignored.
    """
    modules = project_modules(root)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(_longest_module(alias.name, modules) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                source = ".".join([*base, node.module] if node.module else base)
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    targets.add(submodule if submodule in modules else _longest_module(source, modules))
        graph[module] = targets - {"", module}
    return graph


def cycles(graph: dict[str, set[str]]) -> dict[frozenset[str], list[str]]:
    """Each strongly connected component of more than one module, with one shortest circle through it (a path
    that starts and ends at the component's first module in sorted order)."""
    return {
        frozenset(component): _shortest_circle(graph, component)
        for component in _components(graph)
        if len(component) > 1
    }


def describe(found: dict[frozenset[str], list[str]]) -> str:
    lines = []
    for component, circle in sorted(found.items(), key=lambda item: item[1]):
        lines.append(" -> ".join(circle))
        if len(component) > len(circle) - 1:
            lines.append(f"    (the whole component: {', '.join(sorted(component))})")
    return "\n".join(lines)


def test_node_and_simulator_have_no_import_cycles() -> None:
    found = cycles(import_graph())
    unexpected = {component: circle for component, circle in found.items() if component not in KNOWN_CYCLES}
    assert not unexpected, "import circles:\n" + describe(unexpected)


def test_every_known_cycle_is_still_there() -> None:
    found = cycles(import_graph())
    gone = [", ".join(sorted(known)) for known in KNOWN_CYCLES if known not in found]
    assert not gone, "no longer a circle (or a different one now); remove from KNOWN_CYCLES:\n" + "\n".join(gone)


def test_the_graph_sees_imports_inside_functions_and_relative_imports(tmp_path: Path) -> None:
    """A control: the reader finds function-level, TYPE_CHECKING and relative imports, and the cycle finder
    reports the circle they make."""
    package = tmp_path / "node" / "pkg"
    package.mkdir(parents=True)
    (tmp_path / "node" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("from node.pkg.a import A\n")
    (package / "a.py").write_text("def f():\n    from node.pkg import b\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import C\nimport os\n"
    )
    (package / "c.py").write_text("from . import a\nfrom .. import pkg\n")
    (tmp_path / "simulator").mkdir()
    graph = import_graph(tmp_path)
    assert graph == {
        "node": set(),
        "node.pkg": {"node.pkg.a"},
        "node.pkg.a": {"node.pkg.b"},
        "node.pkg.b": {"node.pkg.c"},
        "node.pkg.c": {"node.pkg.a", "node.pkg"},
    }
    circle = ["node.pkg", "node.pkg.a", "node.pkg.b", "node.pkg.c", "node.pkg"]
    assert cycles(graph) == {frozenset(circle): circle}
    graph["node.pkg.b"].add("node")
    graph["node"].add("node.pkg.b")  # the two circles make one component, named with its shortest circle
    assert describe(cycles(graph)).splitlines() == [
        "node -> node.pkg.b -> node",
        "    (the whole component: node, node.pkg, node.pkg.a, node.pkg.b, node.pkg.c)",
    ]


def test_the_project_graph_has_the_edges_it_should() -> None:
    """A control on the real tree: a function-level import and an import of a re-exporting package."""
    graph = import_graph()
    assert "node.app" in graph["node.cli.serve"]  # inside the commands
    assert "node.cli" in graph["node.cli.__main__"]
    assert "node.hosting" in graph["node.app.build"]


def _longest_module(name: str, modules: dict[str, Path]) -> str:
    parts = name.split(".")
    while parts and ".".join(parts) not in modules:
        parts.pop()
    return ".".join(parts)


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            components.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return components


def _shortest_circle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    start, members = component[0], set(component)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for target in sorted(graph[module] & members):
            if target == start:
                path = [module]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if target not in came_from:
                came_from[target] = module
                queue.append(target)
    raise AssertionError(f"{component} is not a circle")
