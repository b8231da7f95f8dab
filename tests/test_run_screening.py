"""Screening in a real run (digits, tiny): children train on a quarter of the budget first,
only the promoted ones get all of it, and everything the run offers (pareto.json, the
variant files, the result) comes from full-budget evaluations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nnevolve.config import load_config
from nnevolve.run import RunResult, run_evolution
from nnevolve.search.screening import screening_key
from nnevolve.store import RunStore
from run_support import SLOW_NET as SEED
from run_support import make_workspace, run_settings

pytestmark = pytest.mark.slow

SETTINGS = run_settings(population=6, generations=2, confirm_seeds=0, screening="on")


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, Path]:
    workspace = make_workspace(tmp_path_factory.mktemp("workspace"), SETTINGS,
                               {"slow_net.py": SEED})
    model = workspace / "slow_net.py"
    with RunStore(load_config(model).store_path) as store:
        result = run_evolution(load_config(model), model, store=store)
    assert result.status == "finished", result.error
    return result, workspace


def test_pareto_json_holds_only_full_budget_evaluations(finished) -> None:
    result, workspace = finished
    assert result.screening == 0.25
    assert result.counts.screened > 0 and result.counts.promoted > 0
    entries = json.loads((result.out_dir / "pareto.json").read_text())
    assert entries
    with RunStore(workspace / ".nnevolve" / "runs.sqlite") as store:
        run = store.get_run(result.run_id)
        variants = store.variants(result.run_id)
        screened = [v for v in variants if v.status == "screened"]
        assert screened and all(v.fidelity == 0.25 and v.evaluation is None for v in screened)
        by_source = {v.source: v for v in variants}
        for entry in entries:
            variant = by_source[(result.out_dir / entry["file"]).read_text()]
            assert variant.status == "evaluated" and variant.fidelity == 1.0
            full = store.cached_evaluation(variant.source_hash, run.dataset_fingerprint,
                                           run.budget_key, run.train_seed)
            assert entry["accuracy"] == full.accuracy
            if variant.promoted:  # its screening is kept apart, under its own key
                screening = store.cached_evaluation(
                    variant.source_hash, run.dataset_fingerprint,
                    screening_key(run.budget_key, 0.25), run.train_seed)
                assert screening is not None and screening.train_seconds < full.train_seconds
    offered = {v.source for v in variants if v.is_pareto}
    assert not offered & {v.source for v in screened}
    assert {p.accuracy for p in result.pareto} <= {entry["accuracy"] for entry in entries}
