"""The search: NSGA-II (or random search) over candidate programs, through thin pymoo adapters."""

from __future__ import annotations

from nnevolve.search.breeder import Breeder
from nnevolve.search.candidate import Candidate, SearchCounts
from nnevolve.search.context import SearchContext
from nnevolve.search.evaluator import Evaluator, RunCancelled
from nnevolve.search.front import dominates, objective_vector, pareto_indices
from nnevolve.search.nsga2 import run_nsga2
from nnevolve.search.random_search import run_random

ALGORITHMS = {"nsga2": run_nsga2, "random": run_random}

__all__ = [
    "ALGORITHMS",
    "Breeder",
    "Candidate",
    "Evaluator",
    "RunCancelled",
    "SearchContext",
    "SearchCounts",
    "dominates",
    "objective_vector",
    "pareto_indices",
    "run_nsga2",
    "run_random",
]
