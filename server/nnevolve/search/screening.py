"""Multi-fidelity: children are screened on a share of the training budget, and only the
promising ones get the full budget.

The promotion rule is asynchronous successive halving's (ASHA; Optuna's
SuccessiveHalvingPruner): a screened child is promoted when it ranks in the top 1/REDUCTION of
every child screened so far in the run, itself included (the first few: when it is the best).
With several objectives the ranking is NSGA-II's (non-dominated rank, then crowding
distance), and a child that is the best screened so far on one objective is always promoted.
Decisions are taken in the order the children were accepted, so a run is the same whatever
order its workers finish in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from nnevolve.search.front import objective_vector
from nnevolve.store import Evaluation

SETTINGS = ("auto", "on", "off")
FRACTION = 0.25  # a screening trains on this share of the budget's optimizer steps
REDUCTION = 3  # one screened child in REDUCTION is promoted (ASHA's reduction factor η)
# "auto" screens when the user's network trains at least this long per evaluation (CPU time
# of its training, so the machine's load does not decide): below it breeding and the fixed
# costs of an evaluation, not training, take the run's time
AUTO_MIN_TRAIN_S = 1.0


def screening_fraction(setting: str, base_train_seconds: float) -> float:
    """The share of the budget children are screened with (0: no screening)."""
    if setting == "on" or (setting == "auto" and base_train_seconds >= AUTO_MIN_TRAIN_S):
        return FRACTION
    return 0.0


def screening_key(budget_key: str, fraction: float) -> str:
    """The cache key of a screening: never the full budget's, so a screened result is never
    served as a full one."""
    return f"{budget_key};fraction={fraction:g}"


def child_cost(fraction: float) -> float:
    """Expected training of one screened child, in full-budget evaluations."""
    return fraction + 1.0 / REDUCTION if fraction > 0 else 1.0


@dataclass
class Rung:
    """The screened children of a run, as objective vectors, and the promotion rule."""

    objectives: Sequence[str]
    reduction: int = REDUCTION
    points: list[list[float]] = field(default_factory=list)

    def add(self, evaluation: Evaluation) -> None:
        """A screening decided earlier (a resumed run): a competitor, nothing more."""
        if evaluation.status == "ok":
            self.points.append(objective_vector(evaluation, self.objectives))

    def promote(self, evaluation: Evaluation) -> bool:
        """Add `evaluation` to the competitors; whether it earns the full budget."""
        if evaluation.status != "ok":
            return False  # a network that fails its screening fails the full budget too
        self.add(evaluation)
        points = np.array(self.points)
        new = len(points) - 1
        promotable = max(len(points) // self.reduction, 1)
        fronts = NonDominatedSorting().do(points)
        position = 0
        for front in fronts:
            crowding = calc_crowding_distance(points[front])
            if new in front:
                here = int(np.flatnonzero(front == new)[0])
                if position == 0 and math.isinf(crowding[here]):
                    return True  # the best screened so far on one of the objectives
                order = front[np.argsort(-crowding, kind="stable")]
                return position + int(np.flatnonzero(order == new)[0]) < promotable
            position += len(front)
        return False
