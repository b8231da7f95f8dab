"""``RepairResult`` and the task's validation: what the static check's caller needs, without
torch (the check itself, :mod:`nnevolve.repair.check`, runs in the checker's subprocess)."""

from __future__ import annotations

from dataclasses import dataclass

from nnevolve.genome.liveness import Liveness


@dataclass(frozen=True)
class RepairResult:
    """The outcome of the static check of one variant.

    ``source`` is the repaired source when ``ok``; when rejected it is the source as far as
    the repair got, the one ``reason``'s line numbers refer to. ``fixes`` are in words, with
    line numbers of ``source``.
    """

    ok: bool
    source: str  # repaired source (== input when nothing changed)
    reason: str | None  # why it is rejected, when not ok
    fixes: tuple[str, ...]  # human words for each fix applied
    liveness: Liveness | None = None  # what the repaired model uses, when ok


def validate_task(input_shape: tuple[int, ...], num_classes: int) -> None:
    if not input_shape or not all(isinstance(s, int) and s > 0 for s in input_shape):
        raise ValueError(f"input_shape must be positive integers, got {input_shape!r}")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
