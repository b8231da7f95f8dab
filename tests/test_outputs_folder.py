"""A run never writes over the model file or another run's outputs: a folder that already
holds `variant-NN.py`, pareto.json or pareto.png gets the run's files in a fresh sub-folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from nnevolve.commands.evolve import _say_if_outputs_moved
from nnevolve.config import load_config
from nnevolve.output_folder import free_out_dir, mark_out_dir
from nnevolve.run import run_evolution
from nnevolve.store import RunStore
from run_support import MLP, make_workspace

SETTINGS = """
dataset = "digits"
population = 2
generations = 1
max_evals = 2
epochs = 2
lr = 0.01
workers = 1
confirm_seeds = 0
objectives = ["error", "params"]
"""


@pytest.mark.slow
def test_evolving_variant_01_into_its_own_folder_keeps_it_and_the_first_runs_outputs(
        tmp_path: Path) -> None:
    # `nnevolve evolve variant-01.py --out .`, twice
    workspace = make_workspace(tmp_path, SETTINGS, {"variant-01.py": MLP})
    model = workspace / "variant-01.py"
    config = load_config(model).with_overrides({"out": workspace})
    written = []
    with RunStore(config.store_path) as store:
        for _ in range(2):
            result = run_evolution(config, model, store=store)
            assert result.status == "finished", result.error
            assert result.out_dir == workspace / result.run_id  # a fresh sub-folder
            written.append((result.out_dir / "pareto.json").read_text())
            assert store.get_run(result.run_id).out_dir == str(result.out_dir)
    assert model.read_text() == MLP
    first = sorted(p for p in workspace.iterdir() if (p / "pareto.json").is_file())
    assert [(p / "pareto.json").read_text() for p in first] == written  # both kept


def test_a_folder_without_outputs_is_used_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "notes.py").write_text("")
    assert free_out_dir(tmp_path, "r1") == tmp_path
    assert free_out_dir(tmp_path / "missing", "r1") == tmp_path / "missing"
    (tmp_path / "pareto.png").write_bytes(b"")
    (tmp_path / "r1").mkdir()
    assert free_out_dir(tmp_path, "r1") == tmp_path / "r1-2"


def test_a_run_may_write_its_own_folder_again(tmp_path: Path) -> None:
    mark_out_dir(tmp_path, "r1")
    (tmp_path / "variant-01.py").write_text("")  # r1's own
    assert free_out_dir(tmp_path, "r1") == tmp_path
    assert free_out_dir(tmp_path, "r2") == tmp_path / "r2"


def test_the_cli_says_where_the_outputs_went(tmp_path: Path) -> None:
    console = Console(record=True, width=300)
    (tmp_path / "r1").mkdir()
    _say_if_outputs_moved(console, tmp_path, tmp_path / "r1")
    _say_if_outputs_moved(console, tmp_path / "r2", tmp_path / "r2")  # where it was asked: quiet
    assert console.export_text().strip() == (
        f"{tmp_path} already holds variant files or a pareto.json: this run's outputs are in "
        f"{tmp_path / 'r1'}")
