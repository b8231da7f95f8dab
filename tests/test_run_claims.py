"""Two runs that share a run store train each source once: the first claims it, the second
waits for its result in the cache; a claim whose process has ended is taken over."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nnevolve.evaluation import Budget, EvaluationPool
from nnevolve.genome import source_hash
from nnevolve.search import Candidate, Evaluator, SearchCounts
from nnevolve.store import RunStore

pytestmark = pytest.mark.slow

MLP = '''
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, WIDTH), nn.ReLU(),
                                 nn.Linear(WIDTH, 10))

    def forward(self, x):
        return self.net(x)
'''
SOURCES = [MLP.replace("WIDTH", str(width)) for width in (8, 16, 24)]
BUDGET = Budget(epochs=1, max_train_seconds=10, time_limit_s=60)


def new_run(store: RunStore, fingerprint: str) -> str:
    return store.create_run(file="/w/net.py", class_name="Net", base_source=SOURCES[0],
                            base_hash=source_hash(SOURCES[0]), config={},
                            dataset_fingerprint=fingerprint, budget_key=BUDGET.key())


def candidates() -> list[Candidate]:
    return [Candidate(source=s, source_hash=source_hash(s), class_name="Net", checked=True)
            for s in SOURCES]


def test_two_runs_on_one_store_train_each_source_once(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    with EvaluationPool("digits", workers=2, budget=BUDGET, max_train=300, max_val=100) as pool, \
            RunStore(path) as first_store, RunStore(path) as second_store:
        runs = []
        for store in (first_store, second_store):  # two runs, each with its own connection
            counts = SearchCounts()
            evaluator = Evaluator(store=store, run_id=new_run(store, pool.fingerprint),
                                  pool=pool, dataset_fingerprint=pool.fingerprint,
                                  budget_key=BUDGET.key(), with_test=False, counts=counts,
                                  should_stop=lambda: False, on_result=lambda c: None)
            batch = candidates()
            for candidate in batch:
                evaluator.start(candidate, 0)
            runs.append((evaluator, batch, counts))
        threads = [threading.Thread(target=evaluator.evaluate, args=(batch, 0))
                   for evaluator, batch, _ in runs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
    (_, first, first_counts), (_, second, second_counts) = runs
    assert first_counts.trained == 3 and second_counts.trained == 0
    assert second_counts.cached == 3  # the first run's results, not trained again
    assert [c.metrics for c in second] == [c.metrics for c in first]
    with RunStore(path) as store:
        oldest = store.list_runs()[-1].id
        assert all(not v.cached for v in store.variants(oldest))  # trained by the first run


def test_a_claim_is_held_while_its_process_lives_and_taken_over_after(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    owner = subprocess.run(  # a process that claims and exits without releasing
        [sys.executable, "-c", "import sys; from nnevolve.store import RunStore; "
         "RunStore(sys.argv[1]).claim('k', 'gone-run') or sys.exit(3)", str(path)],
        check=True, capture_output=True, text=True)
    assert owner.returncode == 0
    with RunStore(path) as store:
        assert store.claim("k", "mine")  # its owner has ended: stale
        assert store.claim("k", "mine")  # a run may claim again what it holds
        with RunStore(path) as other:
            assert not other.claim("k", "theirs")  # this process holds it for "mine"
            store.release_claims("mine", "k")
            assert other.claim("k", "theirs")
