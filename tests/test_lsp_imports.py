"""The modules of ``nnevolve.lsp`` import each other without a circle.

Every import counts: module level, inside functions and under ``if TYPE_CHECKING:`` (a
type-only import is still a dependency a reader has to follow). Features depend on the
server's state (:mod:`nnevolve.lsp.state`), never on each other through the server module.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import nnevolve.lsp

PACKAGE = "nnevolve.lsp"
PACKAGE_DIR = Path(nnevolve.lsp.__file__).parent


def lsp_modules() -> dict[str, Path]:
    """Every module of the package by its short name (``server``, ``evolve``, ...)."""
    return {path.stem: path for path in sorted(PACKAGE_DIR.glob("*.py"))}


def imported(tree: ast.AST, modules: set[str]) -> set[str]:
    """The package's modules that a module's syntax tree imports, wherever the import is."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name.split(".")[2])
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            if node.level == 1:  # from . import x / from .x import y
                base = PACKAGE + ("." + node.module if node.module else "")
            if base == PACKAGE:  # from nnevolve.lsp import trust, figures
                found.update(alias.name for alias in node.names if alias.name in modules)
            elif base.startswith(PACKAGE + "."):
                found.add(base.split(".")[2])
    return found & modules


def import_graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports (itself excluded)."""
    modules = lsp_modules()
    names = set(modules)
    return {
        name: imported(ast.parse(path.read_text(encoding="utf-8")), names) - {name}
        for name, path in modules.items()
    }


def test_the_graph_sees_every_kind_of_import() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "from nnevolve.lsp import trust, not_a_module\n"
        "from nnevolve.lsp.offers import Offers\n"
        "from .figures import accuracy\n"
        "import nnevolve.lsp.documents\n"
        "if TYPE_CHECKING:\n"
        "    from nnevolve.lsp.state import NnevolveLanguageServer\n"
        "def later():\n"
        "    from nnevolve.lsp.evolvable import Evolvable\n"
    )
    names = {"trust", "offers", "figures", "documents", "state", "evolvable", "server"}
    assert imported(tree, names) == names - {"server"}


def test_lsp_modules_import_each_other_without_a_circle() -> None:
    graph = import_graph()
    assert len(graph) > 10 and "state" in graph
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        circle = " → ".join(error.args[1])
        raise AssertionError(f"nnevolve.lsp modules import each other in a circle: {circle}")
    assert set(order) == set(graph)


def test_features_reach_the_server_only_through_its_state() -> None:
    graph = import_graph()
    importers = sorted(name for name, imports in graph.items() if "server" in imports)
    assert importers == ["__main__"]
