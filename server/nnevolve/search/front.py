"""Objectives of a trained variant and the Pareto front of a set of them."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from nnevolve.search.noise import Noise
from nnevolve.store import Evaluation

WORST = 1e9  # objective value of a variant that failed (it is also marked infeasible)


def objective_vector(evaluation: Evaluation | None, objectives: Sequence[str],
                     noise: Noise | None = None) -> list[float]:
    """Values to minimise: error (1 − accuracy), log10 parameters, latency in ms.

    With `noise` (what the search sees), error and latency are counted in noise-sized steps
    from the base network's, so differences inside the noise do not steer the selection.
    """
    if evaluation is None or evaluation.status != "ok":
        return [WORST] * len(objectives)
    error = 1.0 - float(evaluation.accuracy or 0.0)
    latency = float(evaluation.latency_ms or 0.0)
    if noise is not None:
        error = round((error - (1.0 - noise.base_accuracy)) / noise.accuracy)
        latency = round((latency - noise.base_latency_ms) / max(noise.latency_ms, 1e-9))
    values = {
        "error": float(error),
        # log10 keeps crowding distances meaningful across orders of magnitude of size
        "params": math.log10(max(int(evaluation.params or 0), 1)),
        "latency": float(latency),
    }
    return [values[name] for name in objectives]


def pareto_indices(evaluations: Sequence[Evaluation | None], objectives: Sequence[str],
                   noise: Noise | None = None) -> list[int]:
    """Positions of the non-dominated successful evaluations, in order.

    With `noise`, a variant dominates another only when it is better beyond the noise of the
    two on one objective and not worse beyond it on any (`Noise.tolerances`: params are
    exact); points that tie within it on every objective appear once (the first); variants
    at chance level are left out. Without it, plain dominance, and identical points appear
    once.
    """
    usable = [i for i, e in enumerate(evaluations) if e is not None and e.status == "ok"
              and (noise is None or not noise.at_chance(e))]
    if not usable:
        return []
    kept = [evaluations[i] for i in usable]
    points = np.array([objective_vector(e, objectives) for e in kept])
    # tolerance[j, i]: the difference between j and i, per objective, inside their noise
    tolerance = np.array([[noise.tolerances(a, b, objectives) for b in kept] for a in kept]
                         if noise else np.zeros((len(kept), len(kept), len(objectives))))
    # dominated[i]: some j is nowhere worse than i beyond the noise and somewhere better beyond it
    a, b = points[:, None, :], points[None, :, :]  # a: the candidate dominator j, b: i
    dominated = ((a <= b + tolerance).all(axis=2) & (a < b - tolerance).any(axis=2)).any(axis=0)
    chosen: list[int] = []
    for position in np.flatnonzero(~dominated):
        if not any((np.abs(points[position] - points[k]) <= tolerance[position, k]).all()
                   for k in chosen):
            chosen.append(int(position))  # a tie with a kept point adds nothing to the front
    return [usable[p] for p in chosen]


def dominates(a: Evaluation, b: Evaluation, objectives: Sequence[str],
              noise: Noise | None = None) -> bool:
    """Whether `a` is at least as good as `b` on every objective and better on one (beyond the
    noise of the two, when given)."""
    va, vb = objective_vector(a, objectives), objective_vector(b, objectives)
    tolerance = noise.tolerances(a, b, objectives) if noise else [0.0] * len(objectives)
    return (all(x <= y + t for x, y, t in zip(va, vb, tolerance))
            and any(x < y - t for x, y, t in zip(va, vb, tolerance)))
