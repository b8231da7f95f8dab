"""Crossover and mutation adapters over `nnevolve.operators`, and a mating whose offspring all
pass the static check (rejected ones are recorded, and the mating tries again)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pymoo.core.crossover import Crossover
from pymoo.core.mating import Mating
from pymoo.core.mutation import Mutation

if TYPE_CHECKING:
    from pymoo.core.population import Population

    from nnevolve.search.breeder import Breeder


class TypedCrossover(Crossover):
    """Two parents give two children, each taking typed lines from the other parent."""

    def __init__(self, breeder: Breeder, prob: float = 0.9) -> None:
        super().__init__(n_parents=2, n_offsprings=2, prob=prob)
        self.breeder = breeder

    def _do(self, problem: Any, X: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        _, n_matings, _ = X.shape
        Y = np.empty((2, n_matings, 1), dtype=object)
        for k in range(n_matings):
            a, b = X[0, k, 0], X[1, k, 0]
            Y[0, k, 0] = self.breeder.cross(a, b) or a
            Y[1, k, 0] = self.breeder.cross(b, a) or b
        return Y


class LineMutation(Mutation):
    """Insert, delete, replace a typed line or change its arguments.

    A child that crossover left equal to its parent is always mutated; a crossed child
    with probability `rate`.
    """

    def __init__(self, breeder: Breeder, rate: float = 0.5) -> None:
        super().__init__(prob=1.0)
        self.breeder, self.rate = breeder, rate

    def _do(self, problem: Any, X: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        Y = X.copy()
        for i, candidate in enumerate(X[:, 0]):
            if candidate.evaluated or self.breeder.rng.random() < self.rate:
                Y[i, 0] = self.breeder.mutant(candidate) or candidate
        return Y


class CheckedMating(Mating):
    """Selection, crossover and mutation, then the static check on every new child."""

    def __init__(self, breeder: Breeder, **kwargs: Any) -> None:
        super().__init__(crossover=TypedCrossover(breeder), mutation=LineMutation(breeder),
                         **kwargs)
        self.breeder = breeder

    def _do(self, problem: Any, pop: Population, n_offsprings: int, **kwargs: Any) -> Population:
        off = super()._do(problem, pop, n_offsprings, **kwargs)
        keep: list[int] = []
        for i, individual in enumerate(off):
            if len(keep) == n_offsprings:
                break  # an accepted child beyond the need would be remembered but never trained
            candidate = individual.X[0]
            if candidate.evaluated:
                continue  # an unchanged parent
            accepted = self.breeder.accept(candidate)
            if accepted is not None:
                individual.X = np.array([accepted], dtype=object)
                keep.append(i)
        return off[keep]
