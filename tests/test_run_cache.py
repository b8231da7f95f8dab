"""The evaluation cache: a source is trained once per (dataset, budget) — within a run, across
runs, and whatever its formatting — and a failure is remembered like a success, except a
timeout, which depends on the machine's load."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest

from nnevolve.evaluation import Budget, EvaluationPool
from nnevolve.evaluation.budget import timeout_reason
from nnevolve.genome import source_hash
from nnevolve.search import Candidate, Evaluator, SearchCounts
from nnevolve.store import Evaluation, RunStore
from run_support import NET

pytestmark = pytest.mark.slow

# the same program: other layout, a comment and a docstring
NET_REFORMATTED = '''
import torch
from torch import nn


class Net(nn.Module):
    """Same network, written differently."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, 32),  # hidden layer
            nn.ReLU(),
            nn.Linear(32, 10),
        )

    def forward(self, x):
        return self.net(x)
'''

CRASHES = NET.replace("return self.net(x)", "raise RuntimeError('broken forward')")

BUDGET = Budget(epochs=1, time_limit_s=60)


class CountingPool:
    """The real pool, counting what it is asked to train."""

    def __init__(self, pool: EvaluationPool) -> None:
        self.pool, self.trained = pool, []  # type: ignore[var-annotated]

    def submit(self, source: str, class_name: str, *, with_test: bool = False,
               seed: int | None = None, train_source: str | None = None,
               split_seed: int | None = None) -> Future:
        self.trained.append(source_hash(source))
        return self.pool.submit(source, class_name, with_test=with_test, seed=seed)


@pytest.fixture(scope="module")
def pool() -> Iterator[EvaluationPool]:
    with EvaluationPool("digits", workers=1, budget=BUDGET) as pool:
        yield pool


def new_run(store: RunStore, pool: EvaluationPool, budget_key: str = BUDGET.key()
            ) -> tuple[Evaluator, CountingPool, SearchCounts]:
    run_id = store.create_run(file="net.py", class_name="Net", base_source=NET,
                              base_hash=source_hash(NET), config={},
                              dataset_fingerprint=pool.fingerprint, budget_key=budget_key)
    counting, counts = CountingPool(pool), SearchCounts()
    evaluator = Evaluator(store=store, run_id=run_id, pool=counting,  # type: ignore[arg-type]
                          dataset_fingerprint=pool.fingerprint, budget_key=budget_key,
                          with_test=False, counts=counts, should_stop=lambda: False,
                          on_result=lambda c: None)
    return evaluator, counting, counts


def candidate(source: str) -> Candidate:
    return Candidate(source=source, source_hash=source_hash(source), class_name="Net",
                     checked=True)


def test_the_same_source_is_trained_once_within_a_run_and_across_runs(
    tmp_path: Path, pool: EvaluationPool
) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    evaluator, counting, counts = new_run(store, pool)
    first = candidate(NET)
    evaluator.evaluate([first], 0)
    assert first.metrics.status == "ok" and 0.0 < first.metrics.accuracy <= 1.0
    assert first.metrics.params == 64 * 32 + 32 + 32 * 10 + 10

    again = candidate(NET_REFORMATTED)  # formatting only: the same variant
    evaluator.evaluate([again], 1)
    assert counting.trained == [source_hash(NET)]
    assert again.metrics == first.metrics
    assert (counts.trained, counts.cached) == (1, 1)

    later, later_pool, later_counts = new_run(store, pool)  # another run, same store
    third = candidate(NET)
    later.evaluate([third], 0)
    assert later_pool.trained == []
    assert third.metrics == first.metrics and later_counts.cached == 1
    assert store.counts(later.run_id).cached == 1 and store.counts(later.run_id).evaluated == 0


def test_a_failed_variant_is_not_trained_again(tmp_path: Path, pool: EvaluationPool) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    evaluator, _, _ = new_run(store, pool)
    broken = candidate(CRASHES)
    evaluator.evaluate([broken], 0)
    assert broken.metrics.status == "failed" and "broken forward" in broken.metrics.reason
    later, later_pool, _ = new_run(store, pool)
    again = candidate(CRASHES)
    later.evaluate([again], 0)
    assert later_pool.trained == [] and again.metrics.status == "failed"
    assert store.find_variant(later.run_id, again.source_hash).status == "failed"


def test_a_variant_that_timed_out_in_an_earlier_run_is_trained_again(
    tmp_path: Path, pool: EvaluationPool
) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    # what the pool records when an evaluation overruns the budget's limit on a loaded machine
    store.put_evaluation(source_hash(NET), pool.fingerprint, BUDGET.key(), Evaluation(
        status="failed", reason=timeout_reason(BUDGET.time_limit_s), total_seconds=60.1))
    later, later_pool, counts = new_run(store, pool)
    again = candidate(NET)
    later.evaluate([again], 0)
    assert later_pool.trained == [source_hash(NET)] and counts.cached == 0
    assert again.metrics.status == "ok"
    assert store.cached_evaluation(source_hash(NET), pool.fingerprint, BUDGET.key()).status == "ok"


def test_another_budget_is_another_cache_entry(tmp_path: Path, pool: EvaluationPool) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    evaluator, _, _ = new_run(store, pool)
    evaluator.evaluate([candidate(NET)], 0)
    other, other_pool, _ = new_run(store, pool, budget_key=BUDGET.key() + ";other")
    other.evaluate([candidate(NET)], 0)
    assert other_pool.trained == [source_hash(NET)]


def test_one_batch_with_a_repeated_source_trains_it_once(tmp_path: Path,
                                                         pool: EvaluationPool) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    evaluator, counting, _ = new_run(store, pool)
    a, b = candidate(NET), candidate(NET_REFORMATTED)
    evaluator.evaluate([a, b], 0)
    assert counting.trained == [source_hash(NET)]
    assert a.metrics == b.metrics


def test_with_a_test_split_the_test_accuracy_is_cached_alongside(tmp_path: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    arrays = tmp_path / "tiny.npz"
    np.savez(arrays, x=rng.random((200, 1, 8, 8), dtype=np.float32), y=rng.integers(0, 10, 200),
             x_test=rng.random((50, 1, 8, 8), dtype=np.float32), y_test=rng.integers(0, 10, 50))
    store = RunStore(tmp_path / "runs.sqlite")
    with EvaluationPool(f"npz:{arrays}", workers=1, budget=BUDGET) as npz_pool:
        assert npz_pool.has_test
        run_id = store.create_run(file="net.py", class_name="Net", base_source=NET,
                                  base_hash=source_hash(NET), config={},
                                  dataset_fingerprint=npz_pool.fingerprint,
                                  budget_key=BUDGET.key())
        evaluator = Evaluator(store=store, run_id=run_id, pool=npz_pool,
                              dataset_fingerprint=npz_pool.fingerprint, budget_key=BUDGET.key(),
                              with_test=True, counts=SearchCounts(), should_stop=lambda: False,
                              on_result=lambda c: None)
        net = candidate(NET)
        evaluator.evaluate([net], 0)
    assert net.metrics.status == "ok" and net.metrics.test_accuracy is not None
    cached = store.cached_evaluation(net.source_hash, npz_pool.fingerprint, BUDGET.key())
    assert cached is not None and cached.test_accuracy == net.metrics.test_accuracy
