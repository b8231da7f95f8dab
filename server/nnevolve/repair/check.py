"""The static check: trace a variant's shapes on the meta device and repair its widths.

Each round instruments the current source, traces one forward pass, plans the fixes and
writes them into the source; a round that needs no fix ends the repair. A fix can expose
the next one (resizing the output layer changes what the layer after it receives), hence
several rounds.
"""

from __future__ import annotations

import difflib

from nnevolve.repair.fixes import FixError, FixNote, apply_fixes
from nnevolve.repair.instrument import instrument
from nnevolve.repair.plan import plan_fixes
from nnevolve.repair.result import RepairResult, validate_task
from nnevolve.repair.shapes import Rejection, trace_shapes

MAX_ROUNDS = 6


def _line_map(old: str, new: str) -> dict[int, int]:
    """1-based line numbers of ``old`` to where those lines are in ``new``."""
    mapping: dict[int, int] = {}
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            mapping.update({i1 + k + 1: j1 + k + 1 for k in range(i2 - i1)})
        elif tag == "replace":  # lines inserted next to an edited one: follow the likeliest
            for i in range(i1, i2):
                best = max(range(j1, j2), key=lambda j: difflib.SequenceMatcher(
                    None, old_lines[i], new_lines[j]).ratio())
                mapping[i + 1] = best + 1
    return mapping


def _moved(notes: list[FixNote], old: str, new: str) -> list[FixNote]:
    mapping = _line_map(old, new)
    return [FixNote(n.template, mapping.get(n.line, n.line)) for n in notes]


def repair(source: str, class_name: str, input_shape: tuple[int, ...],
           num_classes: int, *, max_rounds: int = MAX_ROUNDS) -> RepairResult:
    """Check that ``class_name()`` maps a batch of ``input_shape`` to ``num_classes`` logits.

    Rewrites layer input widths (``in_features``, ``in_channels``, ``num_features``, single-int
    ``normalized_shape``), inserts a Flatten before a Linear fed by a convolutional stack and
    resizes the output layer to ``num_classes``. Never raises for problems in the source:
    they come back as a rejection with a reason.

    Raises
    ------
    ValueError
        When ``input_shape`` or ``num_classes`` is not positive integers.
    """
    input_shape = tuple(input_shape)
    validate_task(input_shape, num_classes)
    current = source
    notes: list[FixNote] = []
    for _ in range(max_rounds):
        try:
            instrumented = instrument(current)
        except SyntaxError as exc:
            reason = f"syntax error at line {exc.lineno}: {exc.msg}"
            return RepairResult(False, current, reason, tuple(n.render() for n in notes))
        trace = trace_shapes(instrumented, class_name, input_shape)
        try:
            fixes = plan_fixes(trace, instrumented.sites, num_classes)
            if not fixes:
                return RepairResult(True, current, None, tuple(n.render() for n in notes),
                                    trace.liveness)
            repaired, new_notes = apply_fixes(current, instrumented.sites, fixes)
        except (Rejection, FixError) as exc:
            return RepairResult(False, current, str(exc), tuple(n.render() for n in notes))
        notes = _moved(notes + new_notes, current, repaired)
        if repaired == current:  # a planned fix that writes nothing would loop forever
            return RepairResult(False, current, "the repair made no progress",
                                tuple(n.render() for n in notes))
        current = repaired
    return RepairResult(False, current, f"widths still disagree after {max_rounds} repair rounds",
                        tuple(n.render() for n in notes))
