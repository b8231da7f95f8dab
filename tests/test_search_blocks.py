"""Block edits at the level of a whole run: the search breeds children whose runs of layers were
replaced by a block and children with an inserted residual block, they pass the static check
and are evaluated, with their provenance in their edits (stand-in fitness, no training)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnevolve.config import load_config
from nnevolve.operators import MUTATION_WEIGHTS
from nnevolve.run import run_evolution
from nnevolve.store import RunStore
from run_support import make_workspace
from test_search_level import StandInPool

SETTINGS = """
dataset = "digits"
population = 8
generations = 2
epochs = 1
workers = 1
confirm_seeds = 0
objectives = ["error", "params"]
zoo_packages = []
"""
CNN = '''import torch.nn as nn


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.ReLU(),
        )
        self.head = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))
'''
# another model file of the workspace: its blocks and its residual class feed the gene pool
MINE = '''import torch.nn as nn


class Res(nn.Module):
    def __init__(self, channels, planes):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, planes, 5, padding=2),
                                  nn.BatchNorm2d(planes), nn.SiLU())

    def forward(self, x):
        return x + self.body(x)


class Head(nn.Module):  # a literal run of layers: a block for replace_block
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(16, 16, 5, padding=2), nn.BatchNorm2d(16), nn.SiLU())

    def forward(self, x):
        return self.body(x)
'''


def test_a_run_evaluates_block_replacements_and_residual_insertions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nnevolve.run.open_backend",
                        lambda config, budget, **_: StandInPool(budget))
    # drawn first more often than at their usual rate, so that a short run surely has both
    monkeypatch.setitem(MUTATION_WEIGHTS, "replace_block", 12)
    monkeypatch.setitem(MUTATION_WEIGHTS, "insert_residual", 12)
    workspace = make_workspace(tmp_path, SETTINGS, {"cnn.py": CNN, "mine.py": MINE})
    config = load_config(workspace / "cnn.py")
    with RunStore(config.store_path) as store:
        result = run_evolution(config, workspace / "cnn.py", store=store)
        variants = store.variants(result.run_id)
    assert result.status == "finished", result.error
    evaluated = [v for v in variants if v.evaluation is not None and v.evaluation.status == "ok"]
    summaries: dict[str, list[str]] = {}
    for edit in (e for v in evaluated for e in v.edits):
        summaries.setdefault(edit["op"], []).append(edit["summary"])
    assert any(s.endswith("(block from mine.py)") for s in summaries.get("replace_block", []))
    assert any(s.endswith("(block from mine.py)") for s in summaries.get("insert_residual", []))
    assert "class Res(nn.Module)" in next(
        v.source for v in evaluated if any(e["op"] == "insert_residual" for e in v.edits))
