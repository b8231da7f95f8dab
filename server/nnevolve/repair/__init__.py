"""Repair and static check: make a variant's layer widths agree before any training.

``repair()`` builds the model on the meta device (no memory, no training), traces the shapes
of one forward pass, rewrites layer widths and inserts Flattens in the real source with
libcst, and rejects what cannot be repaired with a reason in words. ``StaticChecker`` runs it
in a persistent subprocess with a time limit per check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nnevolve.repair.result import RepairResult
from nnevolve.repair.service import StaticChecker

if TYPE_CHECKING:
    from nnevolve.repair.check import repair

__all__ = ["RepairResult", "StaticChecker", "repair"]


def __getattr__(name: str) -> Any:
    # repair() imports torch: only where it runs (the checker's subprocess), not in the engine
    if name == "repair":
        from nnevolve.repair.check import repair  # noqa: PLC0415

        return repair
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
