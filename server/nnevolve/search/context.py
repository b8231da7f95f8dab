"""What a search algorithm needs from the run: breeding, evaluation, budget and hooks."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nnevolve.search.evaluator import RunCancelled
from nnevolve.search.screening import child_cost

if TYPE_CHECKING:
    from nnevolve.config import EvolveConfig
    from nnevolve.search.breeder import Breeder
    from nnevolve.search.candidate import Candidate
    from nnevolve.search.evaluator import Evaluator
    from nnevolve.search.noise import Noise
    from nnevolve.search.time_budget import TimeBudget
    from nnevolve.store import RunStore


@dataclass
class SearchContext:
    """One run's search state shared by NSGA-II and random search."""

    config: EvolveConfig
    store: RunStore
    run_id: str
    breeder: Breeder
    evaluator: Evaluator
    seed: Candidate  # the user's network, evaluated
    resumed: list[Candidate]  # evaluated variants of an interrupted session (empty if new)
    start_generation: int  # generations already complete (0 for a new run)
    should_stop: Callable[[], bool]
    on_generation: Callable[[int], None]  # checkpoint and progress after each generation
    noise: Noise | None = None  # measured on the base network: differences inside it are ties
    time_budget: TimeBudget | None = None  # the wall-clock budget, when the run has one

    @property
    def screening(self) -> float:
        """The share of the budget children are screened with (0: no screening)."""
        return self.evaluator.screening

    def remaining_budget(self) -> float:
        """Full-budget evaluations still allowed (earlier sessions of the run included; a
        screening counts as its share of one); without an evaluation budget (only a time
        budget), a population's worth at a time."""
        budget = self.config.evaluation_budget
        if budget is None:
            return self.config.population
        return budget - self.store.counts(self.run_id).spent(self.screening)

    def children_allowed(self, wanted: int) -> int:
        """Up to `wanted` children the budget still allows (a screened child costs less than
        a full evaluation: its screening, and the full budget only if promoted)."""
        return max(0, min(wanted, math.ceil(self.remaining_budget()
                                            / child_cost(self.screening))))

    def more_generations(self, generation: int) -> bool:
        """Whether `generation` may be bred: within the generations (which a time budget, or
        screening, replaces), the evaluation budget and the time."""
        if self.time_budget is not None:
            return not self.time_budget.spent() and self.remaining_budget() > 0
        if self.screening > 0:
            # a screened generation costs less than `population` full evaluations: the run
            # spends the same budget over more generations
            return self.remaining_budget() > 0
        return generation <= self.config.generations and self.remaining_budget() > 0

    def finish_in_flight(self, generation: int) -> None:
        """The time ran out while `generation` was bred: the children already training
        finish (those still training past the time budget's grace are cut)."""
        self.evaluator.evaluate([], generation)

    def begin_generation(self, generation: int) -> None:
        """Stop here if asked; otherwise tag what follows with `generation`."""
        if self.should_stop():
            raise RunCancelled()
        self.breeder.generation = generation

    def end_generation(self, generation: int) -> None:
        """Checkpoint: generations 0..`generation` are complete and stored."""
        self.store.set_generation(self.run_id, generation + 1)
        self.on_generation(generation)
        if self.should_stop():
            raise RunCancelled()
