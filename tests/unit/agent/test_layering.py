"""The package's shape: imports flow one way, down the layers, and never in a circle.

Read from the source with ``ast``, so an import inside a function counts as much
as one at the top of a module (a lazy import hides a cycle, it does not remove
it). docs/decisions.md ("The agent package in wings") says why the layers are
these.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "agent_runtime" / "stock_agent"

# Bottom first. A module may import its own wing (or module) and anything in a
# lower layer; never a wing of its own layer or above. A top-level module is its
# own unit; a wing (a subpackage) is one unit.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "records", "settings", "bounded_json"),
    ("formatting",),
    ("deadline", "prompts", "observability"),
    ("market_data", "models", "memory", "understanding"),
    ("analysis", "answering"),
    ("reports",),
    ("customize",),
    ("state", "tools", "context"),
    ("contract",),
    ("nodes",),
    ("graph",),
    ("agent",),
    ("server", "client"),
    # The MCP tools reuse the HTTP server's front door (server.http_guard).
    ("mcp",),
    # The image's command chooses between the two servers.
    ("cli", "container"),
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
# Folders next to agent_runtime/ that the shipped package must never import.
OUTSIDE = ("eval", "bench", "tests", "stacks", "training", "tools", "app")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """Every absolute module name ``path`` imports (``from x import y`` names ``x.y``
    when that is a module)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield submodule if submodule in modules else target


def unit_of(module: str) -> str:
    """``stock_agent.server.limits`` -> ``server``; ``stock_agent.nodes`` -> ``nodes``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def internal_edges() -> list[tuple[str, str]]:
    modules = package_modules()
    return [
        (source, target)
        for source, path in modules.items()
        for target in imported_modules(path, modules)
        if target in modules and target != source
    ]


def test_every_unit_of_the_package_has_a_layer() -> None:
    units = {unit_of(m) for m in package_modules()} - {"__init__"}
    assert units == set(RANK), f"not in LAYERS: {units - set(RANK)}; gone: {set(RANK) - units}"


def test_imports_only_go_down_the_layers() -> None:
    upward = [
        f"{source} imports {target} ({unit_of(source)} is layer {RANK[unit_of(source)]}, "
        f"{unit_of(target)} is layer {RANK[unit_of(target)]})"
        for source, target in internal_edges()
        if unit_of(source) != unit_of(target)
        and unit_of(target) != "__init__"
        and RANK[unit_of(target)] >= RANK[unit_of(source)]
    ]
    assert not upward, "\n".join(upward)


def find_cycle(edges: list[tuple[str, str]]) -> list[str] | None:
    graph: dict[str, list[str]] = {}
    for source, target in edges:
        graph.setdefault(source, []).append(target)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_inside_the_package() -> None:
    cycle = find_cycle(internal_edges())
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("edges", "cycle"),
    [
        ([("a", "b"), ("b", "c")], None),
        ([("a", "b"), ("b", "c"), ("c", "a")], ["a", "b", "c", "a"]),
        ([("a", "b"), ("b", "b")], ["b", "b"]),
    ],
)
def test_the_cycle_finder_finds_cycles(
    edges: list[tuple[str, str]], cycle: list[str] | None
) -> None:
    assert find_cycle(edges) == cycle


def test_the_layer_check_sees_lazy_and_relative_imports() -> None:
    """An import inside a function, written relative, is read like any other."""
    modules = package_modules()
    cli = PACKAGE / "cli.py"
    found = set(imported_modules(cli, modules))
    assert "stock_agent.server.entrypoint" in found  # imported inside cmd_serve
    assert "stock_agent.client.remote" in found  # `from .client import remote`


def test_the_package_never_imports_the_folders_beside_it() -> None:
    modules = package_modules()
    outside = [
        f"{name} imports {target}"
        for name, path in modules.items()
        for target in imported_modules(path, modules)
        if target.split(".")[0] in OUTSIDE
    ]
    assert not outside, "\n".join(outside)


def test_the_evaluation_harness_never_imports_the_command_line() -> None:
    """eval imports the package (the client, the agent); the package's CLI only starts
    ``python -m eval`` as a child process, so the two never import each other."""
    offenders = []
    for path in sorted((REPO_ROOT / "eval").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{path.relative_to(REPO_ROOT)}: {n}" for n in names if n == "stock_agent.cli"
            ]
    assert not offenders, offenders


def test_no_module_of_the_package_touches_sys_path() -> None:
    """The shipped package finds its modules as installed; editing ``sys.path`` would
    make an import work here and fail in the image."""
    mentions = [
        str(path.relative_to(REPO_ROOT))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "sys.path" in path.read_text()
    ]
    assert not mentions, mentions
