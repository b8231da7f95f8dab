"""Which classes and functions of a file build the chosen model: the owners of its sites."""

from __future__ import annotations

import ast

from nnevolve.genome.liveness import Liveness
from nnevolve.genome.model_spec import ModelSpec


def _definitions(tree: ast.Module) -> dict[str, ast.ClassDef | ast.FunctionDef]:
    # a name defined twice means its last definition, as when Python runs the file
    return {n.name: n for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}


def _ran(node: ast.AST, lines: frozenset[int]) -> bool:
    """Whether a line of a function, or of a method of a class, ran."""
    bodies = ([node] if isinstance(node, ast.FunctionDef)
              else [n for n in node.body if isinstance(n, ast.FunctionDef)])  # type: ignore[attr-defined]
    return any(f.lineno <= line <= (f.end_lineno or f.lineno) for f in bodies for line in lines)


def model_owners(tree: ast.Module, spec: ModelSpec, live: Liveness | None) -> list[str]:
    """Top-level classes and functions whose code builds or runs the model, in file order
    with the model class last (its layers come last in the forward pass: the output).

    With ``live``: those with a line that ran while the model was built or ran forward. Without:
    the model class, its factory, and every class or function of the file they name,
    transitively.
    """
    definitions = _definitions(tree)
    if live is not None:
        lines = live.lines
        names = [name for name, node in definitions.items() if _ran(node, lines)]
        if spec.class_name in definitions and spec.class_name not in names:
            names.append(spec.class_name)
    else:
        found = {spec.class_name, spec.callee}
        queue = [spec.class_name, spec.callee]
        while queue:
            node = definitions.get(queue.pop())
            if node is None:
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and inner.id in definitions and inner.id not in found:
                    found.add(inner.id)
                    queue.append(inner.id)
        names = [name for name in definitions if name in found]
    order = list(definitions)
    names.sort(key=lambda n: (n == spec.class_name, order.index(n)))
    return names
