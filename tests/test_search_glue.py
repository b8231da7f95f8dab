"""The pymoo glue: NSGA-II and random search breed statically checked children, never train a
variant twice, respect the evaluation budget, checkpoint each generation and stop on request.

Training is replaced by a stand-in pool that derives figures from the source, and the static
check by a stand-in that rejects a fixed quarter of the sources, so these tests take seconds.
"""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import Future
from pathlib import Path

import pytest

from nnevolve.config import EvolveConfig
from nnevolve.evaluation import EvalResult
from nnevolve.gene_pool import GenePool
from nnevolve.genome import source_hash
from nnevolve.repair import RepairResult
from nnevolve.search import (
    Breeder,
    Candidate,
    Evaluator,
    RunCancelled,
    SearchContext,
    SearchCounts,
    run_nsga2,
    run_random,
)
from nnevolve.search.duplicates import SameSource
from nnevolve.search.evaluator import PoolFailure
from nnevolve.search.sampling import initial_mutants
from nnevolve.store import RunStore
from run_support import SLOW_NET as SEED


def rejected_by_stand_in(source: str) -> bool:
    return source_hash(source)[-1] in "0123"


class StandInChecker:
    """Accepts a source unchanged unless its hash ends in 0-3 (a quarter of all sources)."""

    def __init__(self) -> None:
        self.checked: list[str] = []

    def check(self, source: str, class_name: str) -> RepairResult:
        self.checked.append(source)
        if rejected_by_stand_in(source):
            return RepairResult(False, source, "shape mismatch (stand-in)", ())
        return RepairResult(True, source, None, ())


class StandInPool:
    """Completes each job at once with figures derived from the source's hash."""

    def __init__(self) -> None:
        self.trained: Counter[str] = Counter()

    def submit(self, source: str, class_name: str, *, with_test: bool = False,
               seed: int | None = None, train_source: str | None = None,
               split_seed: int | None = None) -> Future:
        digest = source_hash(source)
        self.trained[digest] += 1
        future: Future[EvalResult] = Future()
        future.set_result(EvalResult(
            status="ok", accuracy=int(digest[:4], 16) / 65535, test_accuracy=None,
            params=1000 + int(digest[4:8], 16), latency_ms=0.1, train_seconds=0.2,
            total_seconds=0.25, reason=None))
        return future


@pytest.fixture
def gene_pool() -> GenePool:
    pool = GenePool(":memory:")
    pool.harvest_source(SEED, "seed.py")
    pool.add_catalog()
    return pool


def make_context(tmp_path: Path, gene_pool: GenePool, *, stop_after: int | None = None,
                 resume: str | None = None, pool: StandInPool | None = None,
                 **settings: object) -> tuple[SearchContext, StandInPool, StandInChecker]:
    """A search context on a fresh run, or on the stored run `resume` (as a resumed session)."""
    config = EvolveConfig(root=tmp_path, objectives=("error", "params"),
                          **settings)  # type: ignore[arg-type]
    store = RunStore(tmp_path / "runs.sqlite")
    run_id = resume or store.create_run(
        file="net.py", class_name="SlowNet", base_source=SEED, base_hash=source_hash(SEED),
        config=config.to_json(), dataset_fingerprint="fp", budget_key="bk")
    counts, checker = SearchCounts(), StandInChecker()
    pool = pool or StandInPool()
    results: list[int] = []

    def should_stop() -> bool:
        return stop_after is not None and len(results) >= stop_after

    evaluator = Evaluator(store=store, run_id=run_id, pool=pool,  # type: ignore[arg-type]
                          dataset_fingerprint="fp",
                          budget_key="bk", with_test=False, counts=counts,
                          should_stop=should_stop, on_result=lambda c: results.append(1))
    breeder = Breeder(store=store, run_id=run_id, class_name="SlowNet", pool=gene_pool,
                      checker=checker,  # type: ignore[arg-type]
                      rng=random.Random(3), counts=counts,
                      should_stop=should_stop,
                      on_accept=lambda child: evaluator.start(child, breeder.generation))
    seed = Candidate(source=SEED, source_hash=source_hash(SEED), class_name="SlowNet",
                     checked=True)
    evaluator.evaluate([seed], 0, is_base=True)
    breeder.remember(seed)
    resumed = []
    for variant in store.variants(run_id, status="evaluated") if resume else []:
        if not variant.is_base:
            known = Candidate(source=variant.source, source_hash=variant.source_hash,
                              class_name="SlowNet", checked=True, variant_id=variant.id,
                              metrics=variant.evaluation)
            breeder.remember(known)
            resumed.append(known)
    record = store.get_run(run_id)
    assert record is not None
    context = SearchContext(config=config, store=store, run_id=run_id, breeder=breeder,
                            evaluator=evaluator, seed=seed, resumed=resumed,
                            start_generation=record.generation, should_stop=should_stop,
                            on_generation=lambda g: None)
    return context, pool, checker


@pytest.mark.parametrize("search", [run_nsga2, run_random], ids=["nsga2", "random"])
def test_search_trains_each_checked_variant_once_within_the_budget(
    tmp_path: Path, gene_pool: GenePool, search: object
) -> None:
    context, pool, _ = make_context(tmp_path, gene_pool, population=6, generations=3,
                                          max_evals=16)
    search(context)  # type: ignore[operator]
    store, run_id = context.store, context.run_id
    assert max(pool.trained.values()) == 1  # never trained twice
    trained = sum(pool.trained.values()) - 1  # the seed is not part of the budget
    assert trained == 16 == store.counts(run_id).trained
    variants = store.variants(run_id)
    # nothing the static check rejected was trained, and every rejection has its reason
    rejected = [v for v in variants if v.status == "rejected"]
    assert rejected and all(v.reason == "shape mismatch (stand-in)" for v in rejected)
    assert not any(rejected_by_stand_in(v.source) for v in variants
                   if v.status == "evaluated" and not v.is_base)
    assert not set(pool.trained) & {v.source_hash for v in rejected}
    # every trained child descends from stored variants and says what was done to it
    for variant in variants:
        if variant.status == "evaluated" and not variant.is_base:
            assert variant.parents and variant.edits
            assert all(store.get_variant(p) is not None for p in variant.parents)
    assert store.get_run(run_id).generation >= 3  # type: ignore[union-attr]


def test_nsga2_runs_all_generations_when_the_budget_allows(
    tmp_path: Path, gene_pool: GenePool
) -> None:
    context, _, _ = make_context(tmp_path, gene_pool, population=4, generations=2)
    run_nsga2(context)
    store = context.store
    assert store.get_run(context.run_id).generation == 3  # type: ignore[union-attr]
    evaluated = store.variants(context.run_id, status="evaluated")
    by_generation = Counter(v.generation for v in evaluated)
    assert by_generation[0] == 4  # the seed and three mutants
    assert by_generation[1] == by_generation[2] == 4


def test_a_resumed_search_continues_with_the_next_generation(
    tmp_path: Path, gene_pool: GenePool
) -> None:
    first, pool, _ = make_context(tmp_path, gene_pool, population=4, generations=1)
    run_nsga2(first)  # generations 0 and 1 complete
    assert first.store.get_run(first.run_id).generation == 2  # type: ignore[union-attr]
    trained_before = dict(pool.trained)

    later, pool, _ = make_context(tmp_path, gene_pool, population=4, generations=3,
                                  resume=first.run_id, pool=pool)
    assert later.start_generation == 2 and len(later.resumed) == 7
    run_nsga2(later)
    by_generation = Counter(v.generation for v in later.store.variants(later.run_id,
                                                                         status="evaluated"))
    assert [by_generation[g] for g in range(4)] == [4, 4, 4, 4]  # none skipped, none repeated
    assert max(pool.trained.values()) == 1  # the seed is cached; nothing trained twice
    assert set(trained_before) <= set(pool.trained)
    assert later.store.get_run(later.run_id).generation == 4  # type: ignore[union-attr]


def test_a_stop_request_ends_the_search_between_two_results(
    tmp_path: Path, gene_pool: GenePool
) -> None:
    context, pool, _ = make_context(tmp_path, gene_pool, population=6, generations=5,
                                    stop_after=4)
    with pytest.raises(RunCancelled):
        run_nsga2(context)
    assert sum(pool.trained.values()) <= 6  # stopped in the first generation


def test_initial_mutants_are_distinct_checked_children_of_the_seed(
    tmp_path: Path, gene_pool: GenePool
) -> None:
    context, _, checker = make_context(tmp_path, gene_pool)
    mutants = initial_mutants(context.breeder, context.seed, 5)
    assert len(mutants) == 5
    assert len({m.source_hash for m in mutants} | {context.seed.source_hash}) == 6
    assert all(m.checked and m.source in checker.checked for m in mutants)
    assert all(m.parents == (context.seed.variant_id,) for m in mutants)


def test_a_repaired_child_is_trained_as_repaired_and_says_so(
    tmp_path: Path, gene_pool: GenePool
) -> None:
    context, _, _ = make_context(tmp_path, gene_pool)
    breeder = context.breeder
    child = breeder.mutant(context.seed)
    assert child is not None
    repaired_source = child.source + "\n# repaired\nWIDTH = 3\n"
    breeder.checker = type("Fixer", (), {"check": lambda self, s, c: RepairResult(
        True, repaired_source, None, ("Linear in_features 128→64 at line 12",))})()
    accepted = breeder.accept(child)
    assert accepted is not None and accepted.source == repaired_source
    assert accepted.edits[-1] == {"op": "repair",
                                  "summary": "Linear in_features 128→64 at line 12"}
    assert accepted.edits[:-1] == child.edits
    assert breeder.accept(child) is None  # the unrepaired text is known now


def test_duplicates_are_recognised_across_formatting() -> None:
    from pymoo.core.individual import Individual

    def individual(source: str) -> Individual:
        candidate = Candidate(source=source, source_hash=source_hash(source), class_name="SlowNet")
        return Individual(X=[candidate])

    same = SameSource()
    assert same.is_equal(individual("x = [1, 2]\n"), individual("x = [1,\n     2]  # two\n"))
    assert not same.is_equal(individual("x = [1, 2]\n"), individual("x = [2, 1]\n"))


class OneResultPool:
    """Completes every job at once with the same result."""

    def __init__(self, result: EvalResult) -> None:
        self.result, self.submitted = result, 0

    def submit(self, source: str, class_name: str, *, with_test: bool = False,
               seed: int | None = None, train_source: str | None = None,
               split_seed: int | None = None) -> Future:
        self.submitted += 1
        future: Future[EvalResult] = Future()
        future.set_result(self.result)
        return future


def evaluator_on(tmp_path: Path, result: EvalResult) -> tuple[Evaluator, RunStore, SearchCounts]:
    store = RunStore(tmp_path / "runs.sqlite")
    run_id = store.create_run(file="net.py", class_name="SlowNet", base_source=SEED,
                              base_hash=source_hash(SEED), config={},
                              dataset_fingerprint="fp", budget_key="bk")
    counts = SearchCounts()
    evaluator = Evaluator(store=store, run_id=run_id, pool=OneResultPool(result),  # type: ignore[arg-type]
                          dataset_fingerprint="fp", budget_key="bk", with_test=False,
                          counts=counts, should_stop=lambda: False, on_result=lambda c: None)
    return evaluator, store, counts


@pytest.mark.parametrize("reason", [
    "evaluation worker could not start: FileNotFoundError: no data",
    "evaluation workers exit at start-up (worker died (exit code 1))",
    "evaluation pool stopped: RuntimeError: a bug",
    "cancelled",
])
def test_a_pool_failure_ends_the_evaluation_and_is_never_cached(
    tmp_path: Path, reason: str
) -> None:
    evaluator, store, counts = evaluator_on(tmp_path, EvalResult.failed(reason,
                                                                        pool_failure=True))
    child = Candidate(source=SEED, source_hash=source_hash(SEED), class_name="SlowNet",
                      checked=True)
    with pytest.raises(PoolFailure) as failure:
        evaluator.evaluate([child], 1)
    assert str(failure.value) == reason  # the run says "the evaluation workers failed: <reason>"
    assert store.cached_evaluation(child.source_hash, "fp", "bk") is None
    assert child.variant_id is not None
    variant = store.get_variant(child.variant_id)
    assert variant is not None and variant.status == "pending"
    assert child.metrics is None and (counts.trained, counts.failed) == (0, 0)


@pytest.mark.parametrize("reason", ["crash: ValueError: bad forward", "cancelled"])
def test_a_variants_own_failure_is_stored_and_cached_whatever_its_words(
    tmp_path: Path, reason: str
) -> None:
    # only the pool's mark makes a pool failure: the reason's words do not
    evaluator, store, counts = evaluator_on(tmp_path, EvalResult.failed(reason))
    child = Candidate(source=SEED, source_hash=source_hash(SEED), class_name="SlowNet",
                      checked=True)
    evaluator.evaluate([child], 1)
    cached = store.cached_evaluation(child.source_hash, "fp", "bk")
    assert cached is not None and (cached.status, cached.reason) == ("failed", reason)
    assert child.variant_id is not None
    variant = store.get_variant(child.variant_id)
    assert variant is not None and (variant.status, variant.reason) == ("failed", reason)
    assert (counts.trained, counts.failed) == (1, 1)
