"""Objectives of a trained variant and the Pareto front of a set of them."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from nnevolve.store import Evaluation

WORST = 1e9  # objective value of a variant that failed (it is also marked infeasible)


def objective_vector(evaluation: Evaluation | None, objectives: Sequence[str]) -> list[float]:
    """Values to minimise: error (1 − accuracy), log10 parameters, latency in ms."""
    if evaluation is None or evaluation.status != "ok":
        return [WORST] * len(objectives)
    values = {
        "error": 1.0 - float(evaluation.accuracy or 0.0),
        # log10 keeps crowding distances meaningful across orders of magnitude of size
        "params": math.log10(max(int(evaluation.params or 0), 1)),
        "latency": float(evaluation.latency_ms or 0.0),
    }
    return [values[name] for name in objectives]


def pareto_indices(evaluations: Sequence[Evaluation | None],
                   objectives: Sequence[str]) -> list[int]:
    """Positions of the non-dominated successful evaluations (first of equal points kept)."""
    usable = [i for i, e in enumerate(evaluations) if e is not None and e.status == "ok"]
    if not usable:
        return []
    points = np.array([objective_vector(evaluations[i], objectives) for i in usable])
    front = NonDominatedSorting().do(points, only_non_dominated_front=True)
    chosen: list[int] = []
    taken: set[tuple[float, ...]] = set()
    for position in sorted(int(p) for p in front):
        point = tuple(points[position])
        if point not in taken:  # identical metrics add nothing to the front
            taken.add(point)
            chosen.append(usable[position])
    return chosen


def dominates(a: Evaluation, b: Evaluation, objectives: Sequence[str]) -> bool:
    """Whether `a` is at least as good as `b` on every objective and better on one."""
    va, vb = objective_vector(a, objectives), objective_vector(b, objectives)
    return all(x <= y for x, y in zip(va, vb)) and any(x < y for x, y in zip(va, vb))
