"""The same seed gives the same run whatever the number of workers and whatever order the
results arrive in (objectives without latency): nothing that steers the search, the store or
the front depends on which training finishes first. A resumed run settles every variant its
killed session left pending."""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

import nnevolve.run
from nnevolve.config import load_config
from nnevolve.run import run_evolution
from nnevolve.store import RunStore
from run_support import MLP, make_workspace

pytestmark = pytest.mark.slow

# three generations of four whose budget (10) ends inside the last one; the front confirmed
# with one more seed: the calibration, the search and the confirmation all wait on results
SETTINGS = """
dataset = "digits"
population = 4
generations = 3
max_evals = 10
epochs = 2
lr = 0.01
seed = 3
confirm_seeds = 1
objectives = ["error", "params"]
"""


class LastSubmittedFirst:
    """Hands the pool's results over in the reverse of their submission order, whatever the
    workers' speed: every wait returns the latest-submitted job of those it waits for, once
    all of them are done (with one worker they would come in submission order)."""

    def __init__(self) -> None:
        self.numbers: dict[cf.Future[Any], int] = {}
        self._count = itertools.count()
        self._wait = cf.wait
        self.reordered = 0  # waits that handed over a result submitted after another

    def open_backend(self, *args: Any, **kwargs: Any) -> Any:
        pool = OPEN_BACKEND(*args, **kwargs)
        submit = pool.submit

        def numbered(*job: Any, **options: Any) -> cf.Future[Any]:
            future = submit(*job, **options)
            self.numbers[future] = next(self._count)
            return future

        pool.submit = numbered
        return pool

    def wait(self, futures: Iterable[cf.Future[Any]], timeout: float | None = None,
             return_when: str = cf.ALL_COMPLETED) -> Any:
        futures = set(futures)
        self._wait(futures)  # every one of them
        last = max(futures, key=self.numbers.__getitem__)
        self.reordered += len(futures) > 1
        return {last}, futures - {last}


OPEN_BACKEND = nnevolve.run.open_backend


def evolve(folder: Path, workers: int, order: LastSubmittedFirst | None = None
           ) -> tuple[Path, str]:
    workspace = make_workspace(folder, SETTINGS, {"mlp.py": MLP})
    config = load_config(workspace / "mlp.py").with_overrides({"workers": workers})
    with RunStore(config.store_path) as store, pytest.MonkeyPatch.context() as patch:
        if order is not None:
            patch.setattr(nnevolve.run, "open_backend", order.open_backend)
            patch.setattr(cf, "wait", order.wait)
        result = run_evolution(config, workspace / "mlp.py", store=store)
    assert result.status == "finished", result.error
    return config.store_path, result.run_id


def history(store_path: Path, run_id: str) -> tuple[list[tuple], list[tuple], Any]:
    """The run's front (on its confirmed figures), every variant it recorded, in order, with
    its outcome and parents, and the accuracy noise calibrated on the base network (latency
    is wall-clock time: it differs from run to run)."""
    with RunStore(store_path, read_only=True) as store:
        front = [(v.source_hash, v.figures and v.figures.accuracy, v.figures and v.figures.params,
                  v.confirmed is not None) for v in store.pareto(run_id)]
        stored = store.variants(run_id)
        position = {v.id: i for i, v in enumerate(stored)}  # ids differ from store to store
        variants = [(v.source_hash, v.status, v.generation, v.evaluation and v.evaluation.accuracy,
                     [position.get(p) for p in v.parents]) for v in stored]
        record = store.get_run(run_id)
    assert record is not None and record.calibration is not None
    noise = {key: value for key, value in record.calibration.items() if "latency" not in key}
    return front, variants, noise


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Path, str]]:
    return {workers: evolve(tmp_path_factory.mktemp(f"w{workers}"), workers)
            for workers in (1, 2)}


@pytest.fixture(scope="module")
def reversed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[tuple[Path, str], int]:
    order = LastSubmittedFirst()
    return evolve(tmp_path_factory.mktemp("reversed"), 2, order), order.reordered


def test_the_same_seed_again_on_the_same_store_gives_the_same_run(runs) -> None:
    store_path, run_id = runs[1]
    again = evolve(store_path.parent.parent, 2)  # every source is in its cache by now
    assert again[1] != run_id and history(*again) == history(store_path, run_id)


def test_one_and_two_workers_give_the_same_run(runs) -> None:
    one, two = history(*runs[1]), history(*runs[2])
    assert one[0] and one[0] == two[0]  # the same front
    assert one[1] == two[1]  # the same variants, bred in the same order, with the same results
    assert one[2] == two[2]  # the same noise


def test_results_arriving_in_reverse_give_the_same_run(runs, reversed_run) -> None:
    (store_path, run_id), reordered = reversed_run
    assert reordered >= 5  # the calibration, each generation and the confirmation
    one, backwards = history(*runs[1]), history(store_path, run_id)
    assert any(confirmed for *_, confirmed in one[0])  # the front was confirmed
    assert one == backwards


def test_a_resumed_run_settles_what_its_killed_session_left_pending(runs) -> None:
    store_path, run_id = runs[2]
    with RunStore(store_path) as store:
        trained = [v for v in store.variants(run_id, status="evaluated") if not v.is_base]
        lost, kept = trained[-1], trained[-2]
    with sqlite3.connect(store_path) as conn:  # as if killed while these two trained
        conn.execute("UPDATE variants SET status = 'pending' WHERE id IN (?, ?)",
                     (lost.id, kept.id))
        conn.execute("DELETE FROM evaluations WHERE source_hash = ?", (lost.source_hash,))
        conn.execute("UPDATE runs SET status = 'cancelled' WHERE id = ?", (run_id,))
    config = load_config(store_path.parent.parent / "mlp.py").with_overrides({"workers": 2})
    with RunStore(store_path) as store:
        result = run_evolution(config, None, store=store, resume_run=run_id)
        assert result.status == "finished", result.error
        assert store.variants(run_id, status="pending") == []
        relost, rekept = store.get_variant(lost.id), store.get_variant(kept.id)
    assert relost is not None and relost.status == "evaluated" and not relost.cached
    assert relost.evaluation is not None and lost.evaluation is not None
    # trained again, to the same figures (only the timings differ)
    assert (relost.evaluation.accuracy, relost.evaluation.params) == (
        lost.evaluation.accuracy, lost.evaluation.params)
    assert rekept is not None and rekept.status == "evaluated" and rekept.evaluation is not None
