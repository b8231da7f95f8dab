"""Repair and static check: make a variant's layer widths agree before any training.

``repair()`` builds the model on the meta device (no memory, no training), traces the shapes
of one forward pass, rewrites layer widths and inserts Flattens in the real source with
libcst, and rejects what cannot be repaired with a reason in words. ``StaticChecker`` runs it
in a persistent subprocess with a time limit per check.
"""

from __future__ import annotations

from nnevolve.repair.check import RepairResult, repair
from nnevolve.repair.service import StaticChecker

__all__ = ["RepairResult", "StaticChecker", "repair"]
