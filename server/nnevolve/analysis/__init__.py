"""Line types: what each line of a PyTorch model file is (connection layer, activation, ...).

The public contract (docs/internals.md): :func:`analyze` returns an :class:`Analysis` of
:class:`LineItem` values; :func:`item_at` finds the item under a position;
:func:`torch_bindings` and :func:`resolve_name` resolve a file's imports to qualified torch names.
"""

from __future__ import annotations

from nnevolve.analysis.imports import resolve_name, torch_bindings
from nnevolve.analysis.items import (
    LINE_TYPES,
    TYPE_LABELS,
    Analysis,
    LineItem,
    SyntaxProblem,
    item_at,
)
from nnevolve.analysis.line_types import analyze

__all__ = [
    "LINE_TYPES",
    "TYPE_LABELS",
    "Analysis",
    "LineItem",
    "SyntaxProblem",
    "analyze",
    "item_at",
    "resolve_name",
    "torch_bindings",
]
