"""The initial population: the user's network, the network scaled along the size axis (wider,
narrower, deeper, shallower), the network with blocks of the gene pool transplanted into it,
and statically checked one- or two-edit mutants of it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pymoo.core.sampling import Sampling

if TYPE_CHECKING:
    from nnevolve.search.breeder import Breeder
    from nnevolve.search.candidate import Candidate

ATTEMPTS_PER_SAMPLE = 25  # mutation tries per wanted mutant before settling for fewer


class SeedAndMutants(Sampling):
    """The seed network, `known` candidates, and distinct mutants of the seed up to `n_samples`.

    `known` are candidates an interrupted run already evaluated; `limit` caps the total.
    """

    def __init__(self, breeder: Breeder, seed: Candidate, *, known: Sequence[Candidate] = (),
                 limit: int | None = None) -> None:
        super().__init__()
        self.breeder, self.seed, self.known, self.limit = breeder, seed, list(known), limit

    def _do(self, problem: Any, n_samples: int, *args: Any, **kwargs: Any) -> np.ndarray:
        wanted = n_samples if self.limit is None else min(n_samples, self.limit)
        given = [self.seed, *self.known][:max(wanted, 1)]
        samples = [*given, *initial_mutants(self.breeder, self.seed, wanted - len(given))]
        X = np.empty((len(samples), 1), dtype=object)
        X[:, 0] = samples
        return X


def initial_mutants(breeder: Breeder, seed: Candidate, count: int) -> list[Candidate]:
    """Up to `count` checked, distinct variants of `seed`: up to a third of them `seed` scaled
    along the size axis, up to a third the seed and those scaled variants each with a block of
    the gene pool transplanted into it (a network of varying sizes to extend upon, code
    sampled from a database: a stem as wide as each one's first layer), the rest one- or
    two-edit mutants (a small population still gets mostly near neighbours of the seed)."""
    count = max(count, 0)
    third = math.ceil(count / 3)
    mutants: list[Candidate] = []
    for scaled in breeder.size_variants(seed)[:third]:
        accepted = breeder.accept(scaled)
        if accepted is not None:
            mutants.append(accepted)
    rungs = [seed, *mutants]
    for i in range(min(third, count - len(mutants))):
        for transplant in breeder.transplants(rungs[i % len(rungs)], 1):
            accepted = breeder.accept(transplant)
            if accepted is not None:
                mutants.append(accepted)
    for _ in range(count * ATTEMPTS_PER_SAMPLE):
        if len(mutants) >= count:
            break
        child = breeder.mutant(seed)
        if child is not None and breeder.rng.random() < 0.5:
            child = breeder.mutant(child) or child  # some start two edits away, for diversity
        accepted = breeder.accept(child) if child is not None else None
        if accepted is not None:
            mutants.append(accepted)
    return mutants
