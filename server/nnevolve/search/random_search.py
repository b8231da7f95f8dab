"""The baseline: random edits at the same evaluation budget, with no selection.

Each child is one random mutation of a uniformly chosen, successfully trained variant (the
seed included): the same operators, static check and cache as NSGA-II, but no fitness.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nnevolve.search.sampling import ATTEMPTS_PER_SAMPLE
from nnevolve.search.time_budget import OutOfTime

if TYPE_CHECKING:
    from nnevolve.search.candidate import Candidate
    from nnevolve.search.context import SearchContext


def run_random(context: SearchContext) -> None:
    """Random search in batches of `population` children until the generations (or the
    time) or the budget run out."""
    config, breeder = context.config, context.breeder
    archive = [c for c in (context.seed, *context.resumed) if _trained(c)]
    generation = context.start_generation
    while context.more_generations(generation):
        context.begin_generation(generation)
        wanted = context.children_allowed(config.population - (generation == 0))
        batch: list[Candidate] = []
        try:
            for _ in range(wanted * ATTEMPTS_PER_SAMPLE):
                if len(batch) >= wanted:
                    break
                child = breeder.mutant(breeder.rng.choice(archive))
                accepted = breeder.accept(child) if child is not None else None
                if accepted is not None:
                    batch.append(accepted)
        except OutOfTime:
            context.finish_in_flight(generation)  # the accepted children are training
            break
        if not batch:
            break  # no new variant within reach
        context.evaluator.evaluate(batch, generation)
        archive.extend(c for c in batch if _trained(c))
        context.end_generation(generation)
        generation += 1


def _trained(candidate: Candidate) -> bool:
    return candidate.metrics is not None and candidate.metrics.status == "ok"
