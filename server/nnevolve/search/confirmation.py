"""Training with more seeds: the base network before the search (calibration) and the Pareto
candidates after it (confirmation), and the front decided on the means they give.

A variant that won the search on one lucky seed loses its place once its mean over the
confirmation seeds is known (the search's seed, which chose it, is left out of that mean), and
the variants it hid on the search's figures are confirmed in its stead. A
variant of that front whose mean is not yet pinned down (its seeds disagree) is trained with
more seeds, up to MAX_CONFIRM_SEEDS; one still not pinned down then is withheld, with the
reason. Each of these seeds trains and validates on the run's training and validation samples
split anew with it (the search keeps one split), so a mean over seeds averages the luck of the
validation split as well as the training seed's; every network gets the same split at a seed,
so confirmed means stay paired. Each seed's result is cached by (source, dataset and split,
budget, training seed), so a seed is trained once, and a cancelled confirmation resumes where
it stopped.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nnevolve.evaluation.budget import is_timeout
from nnevolve.search.evaluator import PoolFailure, RunCancelled, as_evaluation
from nnevolve.search.front import pareto_indices
from nnevolve.search.noise import MEAN_HALF_WIDTH, is_pinned, seed_spread, seeds_to_pin
from nnevolve.store import MAX_CONFIRM_SEEDS

if TYPE_CHECKING:
    from nnevolve.evaluation import EvalResult, EvaluationPool
    from nnevolve.search.noise import Noise
    from nnevolve.store import Evaluation, RunRecord, RunStore, Variant

# rounds of confirming what the variants whose means fell hid (each round trains the run's
# confirmation seeds of a few variants more)
REFILL_ROUNDS = 2
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
                run: RunRecord, with_test: bool, should_stop: Callable[[], bool],
                on_result: Callable[[int, int], None] = lambda done, total: None,
                ) -> dict[tuple[str, int], Evaluation]:
    """Each job's evaluation, `(source_hash, seed)` → Evaluation: from the cache, else trained
    (all at once, in parallel, each seed on `run`'s split for it) and cached under `run`'s key
    for that seed. Raises RunCancelled when stopped (what finished is kept) and PoolFailure
    when the pool fails."""
    results: dict[tuple[str, int], Evaluation] = {}
    futures: dict[cf.Future[EvalResult], tuple[str, int]] = {}
    for job in jobs:
        if (job.source_hash, job.seed) in results or (job.source_hash, job.seed) in futures.values():
            continue
        cached = store.cached_evaluation(job.source_hash, *run.seed_key(job.seed), job.seed)
        if cached is not None and not is_timeout(cached.reason):
            results[(job.source_hash, job.seed)] = cached
            continue
        future = pool.submit(job.source, job.class_name, with_test=with_test, seed=job.seed,
                             train_source=job.train_source, split_seed=run.split_seed(job.seed))
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
            store.put_evaluation(digest, *run.seed_key(seed), evaluation, seed)
            results[(digest, seed)] = evaluation
            on_result(len(results), total)
        if stopping:
            raise RunCancelled()
    return results


def offered_front(variants: Sequence[Variant], objectives: Sequence[str], noise: Noise | None,
                  *, confirmed: bool) -> list[Variant]:
    """The variants a run offers: non-dominated beyond the noise, none at chance level.

    With `confirmed`, only variants whose confirmation finished and whose mean is pinned down
    compete (the base with whatever it has), on their means; otherwise every evaluated
    variant, on the search's figure.
    """
    if confirmed:
        return _front(variants, objectives, noise, lambda v: v.is_base or pinned(v, noise))
    contenders = [v for v in variants if v.evaluation is not None]
    return [contenders[i] for i in pareto_indices([v.evaluation for v in contenders],
                                                  objectives, noise)]


def pinned(variant: Variant, noise: Noise | None) -> bool:
    """Whether a confirmed variant's mean is pinned down: its 95% interval, from the spread over
    all the seeds it trained with, within MEAN_HALF_WIDTH (any mean, without a noise)."""
    if variant.confirmed is None or variant.evaluation is None:
        return False
    return noise is None or is_pinned(_spread(variant), variant.confirmed.seeds)


def pin_down(variants: Callable[[], list[Variant]], objectives: Sequence[str],
             noise: Noise | None, train: Callable[[list[tuple[Variant, int]]], object]) -> None:
    """Give the variants of the confirmed front whose mean is not pinned down more seeds
    (`train` trains each variant with its first N confirmation seeds), round after round,
    until each is pinned down or has MAX_CONFIRM_SEEDS (then it is withheld)."""
    while True:
        current = {v.id: v for v in variants()}
        wanted = seeds_wanted(list(current.values()), objectives, noise)
        if not wanted:
            return
        train([(current[i], count) for i, count in wanted.items()])


def seeds_wanted(variants: Sequence[Variant], objectives: Sequence[str],
                 noise: Noise | None) -> dict[int, int]:
    """Variant id → the confirmation seeds it should have: for each variant on the front of
    the confirmed means (among those pinned down or that more seeds still may pin) whose mean
    is not pinned down yet. Empty once the front is settled."""
    if noise is None:
        return {}
    front = _front(variants, objectives, noise,
                   lambda v: v.is_base or pinned(v, noise) or _seeds(v) < MAX_CONFIRM_SEEDS)
    wanted = {}
    for variant in front:
        if not variant.is_base and not pinned(variant, noise):
            seeds = _seeds(variant)
            wanted[variant.id] = min(MAX_CONFIRM_SEEDS,
                                     max(seeds + 1, seeds_to_pin(_spread(variant))))
    return wanted


def hidden_by_the_fallen(variants: Sequence[Variant], objectives: Sequence[str],
                         noise: Noise | None, *,
                         tried: Collection[int] = ()) -> list[Variant]:
    """Evaluated variants not confirmed yet that are on the front once each
    confirmed variant competes on its mean (a withheld one not at all) and each other on the
    search's figure: the ones a variant of the search's front hid until its mean fell. None of
    `tried` (already sent to confirmation), most accurate first."""
    if noise is None:
        return []
    contenders = [v for v in variants if v.evaluation is not None and v.id not in tried and (
        v.is_base or pinned(v, noise) or v.confirmed is None)]
    front = [contenders[i] for i in pareto_indices([_compared(v) for v in contenders],
                                                   objectives, noise)]
    return sorted((v for v in front if not v.is_base and v.confirmed is None),
                  key=lambda v: -(v.evaluation.accuracy or 0.0) if v.evaluation else 0.0)


def withheld_reasons(variants: Sequence[Variant], objectives: Sequence[str],
                     noise: Noise | None) -> dict[int, str]:
    """Variant id → why it is not offered, for each variant that would be on the front of the
    confirmed means but whose mean is not pinned down."""
    if noise is None:
        return {}
    front = _front(variants, objectives, noise, lambda v: True)
    return {v.id: _not_pinned(v) for v in front
            if not v.is_base and not pinned(v, noise)}


def _front(variants: Sequence[Variant], objectives: Sequence[str], noise: Noise | None,
           competes: Callable[[Variant], bool]) -> list[Variant]:
    contenders = [v for v in variants if v.evaluation is not None
                  and (v.is_base or v.confirmed is not None) and competes(v)]
    return [contenders[i] for i in pareto_indices([_compared(v) for v in contenders],
                                                  objectives, noise)]


def _compared(variant: Variant) -> Evaluation:
    """The figures a variant is compared and pinned down on: its confirmed mean, with the
    spread over all the seeds it trained with, else the search's single seed."""
    if variant.confirmed is None:
        assert variant.evaluation is not None
        return variant.evaluation
    return dataclasses.replace(variant.confirmed, accuracy_spread=_spread(variant))


def _seeds(variant: Variant) -> int:
    return variant.confirmed.seeds if variant.confirmed is not None else 0


def _spread(variant: Variant) -> float:
    assert variant.confirmed is not None and variant.evaluation is not None
    return seed_spread(float(variant.evaluation.accuracy or 0.0), variant.confirmed)


def _not_pinned(variant: Variant) -> str:
    confirmed = variant.confirmed
    assert confirmed is not None
    return (f"its accuracy moves ± {100 * _spread(variant):.1f} points between training seeds, "
            f"so its mean over {confirmed.seeds} seeds ({100 * (confirmed.accuracy or 0):.1f}%) "
            f"is not known to ± {100 * MEAN_HALF_WIDTH:.2g} points at 95%; more epochs make a "
            "network train more steadily")
