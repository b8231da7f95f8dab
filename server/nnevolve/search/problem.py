"""The pymoo problem: a batch of candidate programs in, their objectives out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pymoo.core.problem import Problem

from nnevolve.search.front import objective_vector

if TYPE_CHECKING:
    from nnevolve.search.evaluator import Evaluator
    from nnevolve.search.noise import Noise
    from nnevolve.store import Evaluation


class VariantProblem(Problem):
    """Minimise the chosen objectives, in steps of the run's noise; a variant that failed to
    train, trained to chance level only, or was screened out (it has no full-budget figures)
    is infeasible.

    Vectorized rather than elementwise, so the whole batch goes to the worker pool at once.
    """

    def __init__(self, evaluator: Evaluator, objectives: Sequence[str],
                 noise: Noise | None = None) -> None:
        super().__init__(n_var=1, n_obj=len(objectives), n_ieq_constr=1, vtype=object)
        self.evaluator = evaluator
        self.objectives = tuple(objectives)
        self.noise = noise
        self.generation = 0  # set by the search loop before each batch

    def _evaluate(self, X: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        candidates = [row[0] for row in X]
        self.evaluator.evaluate([c for c in candidates if not c.settled], self.generation)
        out["F"] = np.array([objective_vector(c.metrics, self.objectives, self.noise)
                             for c in candidates])
        out["G"] = np.array([[0.0 if self._feasible(c.metrics) else 1.0] for c in candidates])

    def _feasible(self, metrics: Evaluation | None) -> bool:
        if metrics is None or metrics.status != "ok":
            return False
        return self.noise is None or not self.noise.at_chance(metrics)
