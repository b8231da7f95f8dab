"""The same seed gives the same run whatever the number of workers (objectives without
latency): results are consumed in submission order wherever they steer the search. A resumed
run settles every variant its killed session left pending."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nnevolve.config import load_config
from nnevolve.run import run_evolution
from nnevolve.store import RunStore
from run_support import MLP, make_workspace

pytestmark = pytest.mark.slow

SETTINGS = """
dataset = "digits"
population = 4
generations = 2
epochs = 2
lr = 0.01
seed = 3
confirm_seeds = 0
objectives = ["error", "params"]
"""


def evolve(folder: Path, workers: int) -> tuple[Path, str]:
    workspace = make_workspace(folder, SETTINGS, {"mlp.py": MLP})
    config = load_config(workspace / "mlp.py").with_overrides({"workers": workers})
    with RunStore(config.store_path) as store:
        result = run_evolution(config, workspace / "mlp.py", store=store)
    assert result.status == "finished", result.error
    return config.store_path, result.run_id


def history(store_path: Path, run_id: str) -> tuple[list[tuple], list[tuple]]:
    """The run's front and every variant it recorded, in order, with their outcomes."""
    with RunStore(store_path, read_only=True) as store:
        front = [(v.source_hash, v.evaluation.accuracy, v.evaluation.params)
                 for v in store.pareto(run_id)]
        variants = [(v.source_hash, v.status, v.generation, v.evaluation and v.evaluation.accuracy)
                    for v in store.variants(run_id)]
    return front, variants


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Path, str]]:
    return {workers: evolve(tmp_path_factory.mktemp(f"w{workers}"), workers)
            for workers in (1, 2)}


def test_the_same_seed_again_on_the_same_store_gives_the_same_run(runs) -> None:
    store_path, run_id = runs[1]
    again = evolve(store_path.parent.parent, 2)  # every source is in its cache by now
    assert again[1] != run_id and history(*again) == history(store_path, run_id)


def test_one_and_two_workers_give_the_same_run(runs) -> None:
    one, two = history(*runs[1]), history(*runs[2])
    assert one[0] and one[0] == two[0]  # the same front
    assert one[1] == two[1]  # the same variants, bred in the same order, with the same results


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
