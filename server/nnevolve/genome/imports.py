"""Which local names of a file stand for which torch objects (``nn`` → ``torch.nn``, ...).

The resolution itself is :func:`nnevolve.analysis.torch_bindings` (the one the line types use);
this module applies it to a file's module-level imports and adds the way back, from a qualified
name to the file's spelling of it.
"""

from __future__ import annotations

import ast

from nnevolve.analysis import resolve_name, torch_bindings

# `nn.Linear` → "torch.nn.Linear" through the bindings of torch_aliases()
qualified_name = resolve_name


def torch_aliases(tree: ast.Module) -> dict[str, str]:
    """Map each name the file's module-level imports bind to a torch object to its qualified name.

    ``import torch.nn as nn`` gives ``{"nn": "torch.nn"}``, ``import torch.nn`` gives
    ``{"torch": "torch"}``, ``from torch.nn import Conv2d as C`` gives ``{"C": "torch.nn.Conv2d"}``.
    Imports nested in ``try``/``if`` blocks are not read.
    """
    return torch_bindings(tree.body)


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
