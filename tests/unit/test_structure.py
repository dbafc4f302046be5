"""The shape of the codebase: packages by concept, no import cycles, few layers.

These hold the design in place (docs/architecture.md): a module that imports one that
imports it back, a new top-level module or another layer fails here, not in review.
"""

from __future__ import annotations

import ast
import string
import tomllib
from pathlib import Path

import grimp
import pytest

from workflow.texts import LANGUAGES, TEXTS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "workflow"


def _strongly_connected(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Tarjan's algorithm over the package's own modules: every cycle, as its modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module) & modules:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    # Type-checking imports count too: a cycle hidden behind TYPE_CHECKING is still one.
    graph = grimp.build_graph("workflow", exclude_type_checking_imports=False)
    modules = {m for m in graph.modules if m == "workflow" or m.startswith("workflow.")}
    assert _strongly_connected(graph, modules) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(module)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert _strongly_connected(graph, {"a.x", "a.y", "a.z"}) == [["a.x", "a.y"]]


def test_the_layers_contract_has_at_most_nine_layers_and_no_cycle_exemption() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = [c for c in config["contracts"] if c["type"] == "layers"]
    assert len(layers) == 1
    assert len(layers[0]["layers"]) <= 9
    assert "exclude_type_checking_imports" not in config
    independence = [c for c in config["contracts"] if c["type"] == "independence"]
    assert {"workflow.web", "workflow.orchestration"} <= set(independence[0]["modules"])


def test_few_modules_directly_in_the_package() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 6, modules


@pytest.mark.parametrize(
    "package", sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py")), ids=str
)
def test_each_package_says_what_lives_there_and_what_it_may_import(package: str) -> None:
    source = (PACKAGE / package / "__init__.py").read_text()
    docstring = ast.get_docstring(ast.parse(source)) or ""
    assert len(docstring.splitlines()) >= 3, f"{package}: say what lives here"
    assert "import" in docstring.lower(), f"{package}: say what it may import"


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(TEXTS), ids=str)
def test_every_text_is_in_every_language_with_the_same_placeholders(key: str) -> None:
    variants = TEXTS[key]
    assert set(variants) == set(LANGUAGES)
    assert all(v.strip() for v in variants.values())
    assert len({frozenset(_placeholders(v)) for v in variants.values()}) == 1
