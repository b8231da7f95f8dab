"""Training with more seeds: the base network before the search (calibration) and the Pareto
candidates after it (confirmation), and the front decided on the means they give.

A variant that won the search on one lucky seed loses its place once its mean over the
confirmation seeds is known (the search's seed, which chose it, is left out of that mean). Each seed's result is cached by (source, dataset, budget, training seed), so a
seed is trained once, and a cancelled confirmation resumes where it stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nnevolve.evaluation.budget import is_timeout
from nnevolve.search.evaluator import PoolFailure, RunCancelled, as_evaluation
from nnevolve.search.front import pareto_indices

if TYPE_CHECKING:
    from nnevolve.evaluation import EvalResult, EvaluationPool
    from nnevolve.search.noise import Noise
    from nnevolve.store import Evaluation, RunStore, Variant

_POLL_S = 0.1  # how often a waiting pass checks for cancellation


@dataclass(frozen=True)
class SeedJob:
    """One network to train with one more seed."""

    source: str
    source_hash: str
    class_name: str
    seed: int
    train_source: str | None = None  # the variant's training script (None: the project's)


def train_seeds(jobs: Sequence[SeedJob], *, store: RunStore, pool: EvaluationPool,
                key: tuple[str, str], with_test: bool, should_stop: Callable[[], bool],
                on_result: Callable[[int, int], None] = lambda done, total: None,
                ) -> dict[tuple[str, int], Evaluation]:
    """Each job's evaluation, `(source_hash, seed)` → Evaluation: from the cache, else trained
    (all at once, in parallel) and cached. Raises RunCancelled when stopped (what finished
    is kept) and PoolFailure when the pool fails."""
    results: dict[tuple[str, int], Evaluation] = {}
    futures: dict[cf.Future[EvalResult], tuple[str, int]] = {}
    for job in jobs:
        if (job.source_hash, job.seed) in results or (job.source_hash, job.seed) in futures.values():
            continue
        cached = store.cached_evaluation(job.source_hash, *key, job.seed)
        if cached is not None and not is_timeout(cached.reason):
            results[(job.source_hash, job.seed)] = cached
            continue
        future = pool.submit(job.source, job.class_name, with_test=with_test, seed=job.seed,
                             train_source=job.train_source)
        futures[future] = (job.source_hash, job.seed)
    total = len(results) + len(futures)
    on_result(len(results), total)
    pending = set(futures)
    while pending:
        done, pending = cf.wait(pending, timeout=_POLL_S, return_when=cf.FIRST_COMPLETED)
        stopping = should_stop()
        for future in done:
            result = future.result()  # the pool reports failures as results, never raises
            if stopping and not result.ok:
                continue  # a worker killed by the stop is not the network's fault
            if result.pool_failure:
                raise PoolFailure(result.reason)
            digest, seed = futures[future]
            evaluation = as_evaluation(result)
            store.put_evaluation(digest, *key, evaluation, seed)
            results[(digest, seed)] = evaluation
            on_result(len(results), total)
        if stopping:
            raise RunCancelled()
    return results


def offered_front(variants: Sequence[Variant], objectives: Sequence[str], noise: Noise | None,
                  *, confirmed: bool) -> list[Variant]:
    """The variants a run offers: non-dominated beyond the noise, none at chance level.

    With `confirmed`, only variants whose confirmation finished compete (the base with
    whatever it has), on their means, and none whose seeds disagree far more than the base's;
    otherwise every evaluated variant, on the search's figure.
    """
    contenders = [v for v in variants if v.evaluation is not None
                  and (not confirmed or v.is_base or v.confirmed is not None)]
    figures = [v.figures if confirmed else v.evaluation for v in contenders]
    return [contenders[i] for i in pareto_indices(figures, objectives, noise)]
