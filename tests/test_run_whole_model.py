"""Runs on networks written in the common idioms: a factory over block classes, and a model
with nothing of its own to edit (the run says why instead of ending with 0 variants)."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
import torch

from nnevolve.config import load_config
from nnevolve.genome.model_spec import instantiate
from nnevolve.run import run_evolution
from nnevolve.store import RunStore
from run_support import make_workspace, run_settings

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
# population 4 (one generation) offered nothing on 2 seeds of 6, population 6 on 1
SETTINGS = run_settings(confirm_seeds=0, population=6)

LIBRARY_ONLY = '''
import torch.nn as nn
from torchvision.ops import MLP


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = MLP(64, [32, 10])

    def forward(self, x):
        return self.body(x.flatten(1))
'''


def build(source: str, model: str) -> torch.nn.Module:
    module = types.ModuleType("variant")
    exec(compile(source, "<variant>", "exec"), module.__dict__)  # noqa: S102
    return instantiate(module.__dict__, model)  # type: ignore[return-value]


def test_a_factory_over_block_classes_evolves_to_variants_that_build(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, SETTINGS,
                               {"resnet.py": (SAMPLES / "resnet_blocks.py").read_text()})
    config = load_config(workspace / "resnet.py")
    with RunStore(config.store_path) as store:
        result = run_evolution(config, workspace / "resnet.py", model="ResNet8", store=store)
        trained = [v for v in store.variants(result.run_id)
                   if not v.is_base and v.evaluation is not None]
    assert result.status == "finished", result.error
    assert trained and all(v.evaluation.status == "ok" for v in trained)
    entries = json.loads((Path(result.out_dir) / "pareto.json").read_text())
    assert entries and all(e["model"] == "ResNet8" and e["class"] == "ResNet" for e in entries)
    for entry in entries:  # every offered variant builds, runs and has the reported size
        source = (Path(result.out_dir) / entry["file"]).read_text()
        model = build(source, entry["model"])
        assert model(torch.zeros(5, 1, 8, 8)).shape == (5, 10)
        assert sum(p.numel() for p in model.parameters() if p.requires_grad) == entry["params"]


def test_a_model_with_nothing_of_its_own_to_edit_says_why(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, SETTINGS, {"net.py": LIBRARY_ONLY})
    config = load_config(workspace / "net.py")
    with RunStore(config.store_path) as store:
        result = run_evolution(config, workspace / "net.py", model="Net", store=store)
    assert result.status == "failed"
    assert "Net has no editable site" in (result.error or "")
    assert "builds no layer line and reads no configuration entry" in (result.error or "")


@pytest.mark.parametrize("model, fix", [("VGG", "VGG('VGG-A')")])
def test_a_model_that_needs_arguments_is_refused_with_the_fix(tmp_path: Path, model, fix) -> None:
    from nnevolve.run import RunError

    workspace = make_workspace(tmp_path, SETTINGS, {"vgg.py": (SAMPLES / "vgg_cfg.py").read_text()})
    config = load_config(workspace / "vgg.py")
    with RunStore(config.store_path) as store, pytest.raises(RunError, match=f'--model "{fix}"'.replace("(", r"\(").replace(")", r"\)")):
        run_evolution(config, workspace / "vgg.py", model=model, store=store)
