"""NSGA-II over the run's candidates: pymoo drives selection and survival, nnevolve breeds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2, binary_tournament
from pymoo.core.evaluator import Evaluator as PymooEvaluator
from pymoo.core.population import Population
from pymoo.core.termination import NoTermination
from pymoo.operators.selection.tournament import TournamentSelection
from pymoo.operators.survival.rank_and_crowding import RankAndCrowding

from nnevolve.search.callback import GenerationCallback
from nnevolve.search.duplicates import SameSource
from nnevolve.search.mating import CheckedMating
from nnevolve.search.problem import VariantProblem
from nnevolve.search.sampling import SeedAndMutants
from nnevolve.search.time_budget import OutOfTime

if TYPE_CHECKING:
    from pymoo.core.sampling import Sampling

    from nnevolve.search.context import SearchContext


def run_nsga2(context: SearchContext) -> None:
    """Evolve until the generations (or the time), or the evaluation budget, are spent (or a
    stop)."""
    config = context.config
    problem = VariantProblem(context.evaluator, config.objectives, context.noise)
    callback = GenerationCallback(context)
    algorithm = NSGA2(
        pop_size=config.population,
        sampling=_initial_population(context, problem),
        mating=CheckedMating(
            context.breeder,
            selection=TournamentSelection(func_comp=binary_tournament),
            eliminate_duplicates=SameSource(),
            n_max_iterations=50,
        ),
        eliminate_duplicates=SameSource(),
        callback=callback,
    )
    # pymoo's generator is seeded from the run's one stream (the breeder's, seeded by the run's
    # seed and the generation it starts at: a resumed run does not replay the killed session's)
    algorithm.setup(problem, termination=NoTermination(),
                    seed=context.breeder.rng.getrandbits(32))
    generation = context.start_generation
    if generation > 0:
        callback.silent = True  # reloading the stored population is not a generation
        algorithm.next()
        callback.silent = False
    while context.more_generations(generation):
        context.begin_generation(generation)
        problem.generation = callback.generation = generation
        algorithm.n_offsprings = context.children_allowed(config.population)
        try:
            algorithm.next()
        except OutOfTime:
            context.finish_in_flight(generation)
            break
        if algorithm.termination.force_termination:
            break  # the mating found no new child: the neighbourhood is exhausted
        generation += 1


def _initial_population(context: SearchContext, problem: VariantProblem) -> Sampling | Population:
    if context.start_generation == 0:
        # the seed and what an interrupted first generation evaluated are free; mutants are not
        known = len(context.resumed) + 1
        return SeedAndMutants(context.breeder, context.seed, known=context.resumed,
                              limit=context.children_allowed(context.config.population) + known)
    # resumed after generation 0: the best `population` of everything the run evaluated
    candidates = [context.seed, *context.resumed]
    X = np.empty((len(candidates), 1), dtype=object)
    X[:, 0] = candidates
    pop = PymooEvaluator().eval(problem, Population.new("X", X))
    return RankAndCrowding().do(problem, pop, n_survive=context.config.population)

