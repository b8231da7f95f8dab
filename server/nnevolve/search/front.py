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
    n = len(kept)
    # tolerances[o][j, i]: the difference between j and i on objective o inside their noise
    tolerances = (noise.pairwise_tolerances(kept, objectives) if noise
                  else [np.broadcast_to(0.0, (n, n))] * len(objectives))
    # j (row) is nowhere worse than i (column) beyond the noise, and somewhere better beyond it;
    # one objective at a time keeps the arrays n×n
    no_worse, better = np.ones((n, n), dtype=bool), np.zeros((n, n), dtype=bool)
    for o, tolerance in enumerate(tolerances):
        a, b = points[:, None, o], points[None, :, o]
        no_worse &= a <= b + tolerance
        better |= a < b - tolerance
    dominated = (no_worse & better).any(axis=0)
    chosen: list[int] = []
    for position in np.flatnonzero(~dominated):
        ties = np.ones(len(chosen), dtype=bool)
        for o, tolerance in enumerate(tolerances):
            ties &= np.abs(points[position, o] - points[chosen, o]) <= tolerance[position, chosen]
        if not ties.any():
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
