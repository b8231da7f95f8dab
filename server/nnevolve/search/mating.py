"""Crossover and mutation adapters over `nnevolve.operators`, and a mating whose offspring all
pass the static check (rejected ones are recorded, and the mating tries again)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from pymoo.core.crossover import Crossover
from pymoo.core.mating import Mating
from pymoo.core.mutation import Mutation
from pymoo.core.population import Population

if TYPE_CHECKING:
    from nnevolve.search.breeder import Breeder


class TypedCrossover(Crossover):
    """Two parents give two children, each taking typed lines from the other parent."""

    def __init__(self, breeder: Breeder, rate: float = 0.9) -> None:
        # pymoo would run _do for every mating and then drop the ones it does not cross:
        # the rate is applied here instead, so no child is bred only to be thrown away
        super().__init__(n_parents=2, n_offsprings=2, prob=1.0)
        self.breeder, self.rate = breeder, rate

    def _do(self, problem: Any, X: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        _, n_matings, _ = X.shape
        Y = np.empty((2, n_matings, 1), dtype=object)
        for k in range(n_matings):
            a, b = X[0, k, 0], X[1, k, 0]
            crossed = self.breeder.rng.random() < self.rate
            Y[0, k, 0] = (self.breeder.cross(a, b) if crossed else None) or a
            Y[1, k, 0] = (self.breeder.cross(b, a) if crossed else None) or b
        return Y


class LineMutation(Mutation):
    """Insert, delete, replace a typed line or change its arguments.

    A child that crossover left equal to its parent (evaluated, or screened out) is always
    mutated; a crossed child with probability `rate`.
    """

    def __init__(self, breeder: Breeder, rate: float = 0.5) -> None:
        super().__init__(prob=1.0)
        self.breeder, self.rate = breeder, rate

    def _do(self, problem: Any, X: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        Y = X.copy()
        for i, candidate in enumerate(X[:, 0]):
            if candidate.settled or self.breeder.rng.random() < self.rate:
                Y[i, 0] = self.breeder.mutant(candidate) or candidate
        return Y


class CheckedMating(Mating):
    """Selection, then crossover, mutation and the static check one mating at a time.

    Each accepted child starts training at once (the breeder's ``on_accept``), so the workers
    are busy while the rest of the generation is bred, rather than waiting for all of it.
    """

    def __init__(self, breeder: Breeder, **kwargs: Any) -> None:
        super().__init__(crossover=TypedCrossover(breeder), mutation=LineMutation(breeder),
                         **kwargs)
        self.breeder = breeder

    def _do(self, problem: Any, pop: Population, n_offsprings: int, parents: Any = None,
            random_state: Any = None, **kwargs: Any) -> Population:
        if parents is None:
            n_matings = math.ceil(n_offsprings / self.crossover.n_offsprings)
            parents = self.selection(problem, pop, n_matings, n_parents=self.crossover.n_parents,
                                     random_state=random_state, **kwargs)
        kept: list[Any] = []
        for k in range(len(parents)):  # parents: selected individuals, one row per mating
            off = self.crossover(problem, parents[k:k + 1], random_state=random_state, **kwargs)
            off = self.mutation(problem, off, random_state=random_state, **kwargs)
            for individual in off:
                if len(kept) == n_offsprings:
                    # an accepted child beyond the need would be remembered but never trained
                    return Population.create(*kept)
                candidate = individual.X[0]
                if candidate.settled:
                    continue  # an unchanged parent
                accepted = self.breeder.accept(candidate)
                if accepted is not None:
                    individual.X = np.array([accepted], dtype=object)
                    kept.append(individual)
        return Population.create(*kept)
