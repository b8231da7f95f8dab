"""Find the ``nn.Module`` subclasses of a file that build layers: the networks nnevolve can evolve."""

from __future__ import annotations

import ast
import bisect

from nnevolve.analysis import Analysis, analyze
from nnevolve.genome.imports import qualified_name, torch_aliases

MODULE_BASES = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"})
# the line types of things a network is built from (not the training set-up)
LAYER_TYPES = frozenset(
    {"connection", "activation", "normalization", "pooling", "dropout", "reshape", "container"}
)


def module_subclasses(tree: ast.Module) -> list[ast.ClassDef]:
    """Top-level classes deriving from ``torch.nn.Module``, directly or through a class of the file."""
    aliases = torch_aliases(tree)
    found: list[ast.ClassDef] = []
    names: set[str] = set()
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        for base in node.bases:
            if qualified_name(base, aliases) in MODULE_BASES or (
                isinstance(base, ast.Name) and base.id in names
            ):
                found.append(node)
                names.add(node.name)
                break
    return found


def layer_building_classes(tree: ast.Module, analysis: Analysis) -> list[ast.ClassDef]:
    """The module subclasses whose own body contains at least one layer line."""
    lines = sorted(item.line for item in analysis.items if item.type in LAYER_TYPES)
    found = []
    for cls in module_subclasses(tree):
        # the first layer line at or after the class's start: one binary search per class
        first = bisect.bisect_left(lines, cls.lineno)
        if first < len(lines) and lines[first] <= (cls.end_lineno or cls.lineno):
            found.append(cls)
    return found


def model_classes(source: str) -> list[str]:
    """Names of the ``nn.Module`` subclasses in ``source`` that build layers, in file order.

    A file that does not parse has no model classes.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return [cls.name for cls in layer_building_classes(tree, analyze(source))]


def default_model_class(source: str) -> str | None:
    """The model class evolved when none is named: the last one of :func:`model_classes`."""
    classes = model_classes(source)
    return classes[-1] if classes else None
