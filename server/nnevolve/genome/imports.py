"""Which local names of a file stand for which torch objects (``nn`` → ``torch.nn``, ...)."""

from __future__ import annotations

import ast


def torch_aliases(tree: ast.Module) -> dict[str, str]:
    """Map each module-level name bound by an import to its qualified name.

    ``import torch.nn as nn`` gives ``{"nn": "torch.nn"}``, ``import torch.nn`` gives
    ``{"torch": "torch"}``, ``from torch.nn import Conv2d as C`` gives ``{"C": "torch.nn.Conv2d"}``.
    Non-torch imports are included as well; callers filter on the ``torch`` prefix.
    """
    aliases: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    # `import a.b.c` binds only `a`
                    root = alias.name.split(".")[0]
                    aliases[root] = root
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name != "*":
                    aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def qualified_name(expr: ast.expr, aliases: dict[str, str]) -> str | None:
    """Resolve a dotted expression (``nn.Linear``, ``torch.nn.Module``) through ``aliases``."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name) or expr.id not in aliases:
        return None
    return ".".join([aliases[expr.id], *reversed(parts)])


def alias_for(aliases: dict[str, str], qualified: str) -> str | None:
    """The shortest expression of this file that reaches ``qualified`` (e.g. ``nn`` for ``torch.nn``)."""
    best: str | None = None
    for local, target in aliases.items():
        if qualified == target:
            candidate = local
        elif qualified.startswith(target + "."):
            candidate = local + qualified[len(target) :]
        else:
            continue
        if best is None or len(candidate) < len(best):
            best = candidate
    return best
