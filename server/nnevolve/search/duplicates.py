"""Duplicate elimination: two individuals are the same variant when their normalized source is."""

from __future__ import annotations

from typing import Any

from pymoo.core.duplicate import ElementwiseDuplicateElimination


class SameSource(ElementwiseDuplicateElimination):
    """Equal when the candidates' source hashes (of the normalized source) are equal."""

    def is_equal(self, a: Any, b: Any) -> bool:
        return bool(a.X[0].source_hash == b.X[0].source_hash)
