"""The tools CI runs are the ones the repository names, at the versions it names."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Linters, formatters, type checkers and stubs: a new release of any of them can turn
#: CI red with no change of ours, so each is pinned exactly.
LINT_AND_TYPES = re.compile(r"^(ruff|mypy|types-.+|.+-stubs)$")


def _test_extra() -> dict[str, str]:
    """The `test` extra of pyproject.toml, as package name -> version specifier."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = {}
    for requirement in project["optional-dependencies"]["test"]:
        name, specifier = re.match(r"([A-Za-z0-9._-]+)(.*)", requirement).groups()  # type: ignore[union-attr]
        found[name.lower()] = specifier.strip()
    return found


def test_lint_and_type_tools_are_pinned_to_the_installed_versions() -> None:
    tools = {name: spec for name, spec in _test_extra().items() if LINT_AND_TYPES.match(name)}
    assert {"ruff", "mypy"} <= tools.keys(), tools
    for name, specifier in tools.items():
        assert specifier.startswith("==") and "," not in specifier, f"{name}{specifier}"
        assert specifier.removeprefix("==") == version(name), f"{name}{specifier}"
