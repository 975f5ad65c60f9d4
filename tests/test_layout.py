"""The house plan holds (ARCHITECTURE.md, "Folders"): which folder may import which, no
import cycle between modules, no import hidden inside a function in handlers/, and the
rules taken from reports/rules/ by whoever needs them.

Every module of bot/, handlers/, storage/ and reports/ is read with `ast`, not imported,
and every import statement counts wherever it stands: at the top, under `if` (including
`if TYPE_CHECKING:`), or inside a function. An import moved into a function to dodge a
cycle is still the cycle.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage", "reports")
#: The folders whose modules must not import each other in a circle.
ACYCLIC = ("handlers", "storage", "reports")
RULES = "reports.rules"


@dataclass(frozen=True)
class Import:
    """One import statement's target: who imports, what, where, and whether inside a
    function. `target` is the module reached (`from handlers.technician import photos`
    reaches handlers.technician.photos); `names` are what a `from` import takes from it."""

    module: str
    target: str
    names: tuple[str, ...]
    line: int
    in_function: bool

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    """Every first-party module by dotted name."""
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _walk(node: ast.AST, in_function: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node below `node`, and whether a function (or a lambda) encloses it."""
    for child in ast.iter_child_nodes(node):
        inside = in_function or isinstance(
            child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        )
        yield child, inside
        yield from _walk(child, inside)


def read_imports(
    source: str, module: str, *, package: bool, known: Collection[str]
) -> list[Import]:
    """The imports of `module` (a package's `__init__` when `package`), whose text is
    `source`; a name imported from a package is the module it names when it is `known`."""
    found = []
    for node, in_function in _walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".") if package else module.split(".")[:-1]
                anchor = ".".join(parent[: len(parent) - node.level + 1])
                base = f"{anchor}.{base}" if base else anchor
            targets = [
                (f"{base}.{alias.name}", ())
                if f"{base}.{alias.name}" in known
                else (base, (alias.name,))
                for alias in node.names
            ]
        else:
            continue
        found += [
            Import(module, target, names, node.lineno, in_function) for target, names in targets
        ]
    return found


@cache
def imports_of(module: str) -> tuple[Import, ...]:
    path = _modules()[module]
    source = path.read_text(encoding="utf-8")
    package = path.name == "__init__.py"
    return tuple(read_imports(source, module, package=package, known=_modules()))


def _in(name: str, *packages: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def _all_imports(*packages: str) -> Iterator[Import]:
    for module in _modules():
        if _in(module, *packages):
            yield from imports_of(module)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a path that comes back to where it starts) per strongly connected
    group of `graph` that has one (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph[node]:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_way_round(group, graph) for group in groups]


def _way_round(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest way from the group's first module back to itself, inside the group."""
    start, members = group[0], set(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(graph[node] & members):
                if successor == start:
                    way = [start]
                    while node != start:
                        way.insert(1, node)
                        node = came_from[node]
                    return [*way, start]
                if successor not in came_from:
                    came_from[successor] = node
                    following.append(successor)
        frontier = following
    raise AssertionError(f"{group} holds no cycle")


def test_the_reader_finds_imports_at_every_depth() -> None:
    """The tests below are only as good as this reader: what it must see."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from a import b, helper\n"
        "from . import c\n"
        "if TYPE_CHECKING:\n"
        "    import a.d\n"
        "def f():\n"
        "    from .c import thing\n"
        "class K:\n"
        "    def g(self):\n"
        "        import e\n"
    )
    found = read_imports(source, "a.x", package=False, known={"a", "a.b", "a.c", "a.d", "a.x"})
    assert [(i.target, i.names, i.line, i.in_function) for i in found] == [
        ("typing", ("TYPE_CHECKING",), 1, False),
        ("a.b", (), 2, False),
        ("a", ("helper",), 2, False),
        ("a.c", (), 3, False),
        ("a.d", (), 5, False),
        ("a.c", ("thing",), 7, True),
        ("e", (), 10, True),
    ]
    graph = {"a": {"b"}, "b": {"c", "d"}, "c": {"a"}, "d": set(), "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c", "a"], ["e", "e"]]


def test_no_import_cycle_between_modules_of_handlers_storage_and_reports() -> None:
    graph: dict[str, set[str]] = {module: set() for module in _modules() if _in(module, *ACYCLIC)}
    where: dict[tuple[str, str], int] = {}
    for found in _all_imports(*ACYCLIC):
        if found.target in graph and found.target != found.module:
            graph[found.module].add(found.target)
            where.setdefault((found.module, found.target), found.line)
    shown = [
        " -> ".join(f"{a} (line {where[a, b]})" for a, b in pairwise(way)) + f" -> {way[-1]}"
        for way in cycles(graph)
    ]
    assert not shown, "import cycles (a piece lives in the wrong module):\n" + "\n".join(shown)


def test_no_import_inside_a_function_in_handlers() -> None:
    hidden = [str(found) for found in _all_imports("handlers") if found.in_function]
    assert not hidden, "imports inside functions (move the piece instead):\n" + "\n".join(hidden)


def test_storage_and_reports_import_neither_telegram_nor_the_layers_above() -> None:
    refused = {
        "storage": ("aiogram", "handlers", "bot"),
        "reports": ("aiogram", "handlers", "bot", "storage"),
    }
    wrong = [
        str(found)
        for package, forbidden in refused.items()
        for found in _all_imports(package)
        if _in(found.target, *forbidden)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_rules_need_only_python_and_reports() -> None:
    """reports/rules/ runs anywhere: the standard library and reports/, nothing else."""
    wrong = [
        str(found)
        for found in _all_imports(RULES)
        if found.target.partition(".")[0] not in sys.stdlib_module_names
        and not _in(found.target, "reports")
    ]
    assert not wrong, "\n".join(wrong)


def test_bot_takes_the_rules_from_reports_not_from_handlers() -> None:
    """The command line, the scheduler and the rest of bot/ import a rule from its home
    in reports/rules/, never through a handler module that happens to use it too."""
    rules = {
        name
        for module in _modules()
        if _in(module, RULES)
        for node in ast.parse(_modules()[module].read_text(encoding="utf-8")).body
        for name in _defined(node)
    }
    wrong = [
        f"{found} for {', '.join(sorted(set(found.names) & rules))}"
        for found in _all_imports("bot")
        if _in(found.target, "handlers") and set(found.names) & rules
    ]
    assert not wrong, "\n".join(wrong)


def _defined(node: ast.stmt) -> list[str]:
    """The public class or function a module-level statement defines, if any."""
    if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return [] if node.name.startswith("_") else [node.name]
    return []
