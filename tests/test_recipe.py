"""The training recipe written in the user's code: read, honoured in training, evolved."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from nnevolve.datasets import load_dataset
from nnevolve.evaluation.budget import Budget
from nnevolve.evaluation.train import evaluate_variant, train_model
from nnevolve.genome import Genome
from nnevolve.operators.recipe import mutate_recipe
from nnevolve.recipe import read_recipe
from run_support import NET

SAMPLES = Path(__file__).resolve().parents[1] / "samples"

FULL = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.optim import lr_scheduler
from torch.utils.data import DataLoader

def train(net, data):
    loader = DataLoader(data, batch_size=128, shuffle=True)
    optimizer = optim.SGD(net.parameters(), 0.1, momentum=0.9, weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=200)
    for x, y in loader:
        loss = criterion(net(x), y)
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
'''

def test_each_part_is_read_with_its_lines():
    recipe = read_recipe(FULL)
    assert recipe.optimizer is not None and recipe.optimizer.short == "SGD"
    assert dict(recipe.optimizer.kwargs) == {"lr": 0.1, "momentum": 0.9, "weight_decay": 5e-4}
    assert recipe.loss is not None and dict(recipe.loss.kwargs) == {"label_smoothing": 0.1}
    assert recipe.scheduler is not None and dict(recipe.scheduler.kwargs) == {"T_max": 200}
    assert (recipe.batch_size, recipe.batch_line) == (128, 10)
    assert recipe.lines() == [10, 11, 12, 13]
    assert recipe.ignored == ("line 16: gradient clipping is not honoured",)
    assert recipe.describe().startswith("SGD(lr=0.1, momentum=0.9, weight_decay=0.0005) · ")


def test_functional_losses_lightning_style_and_unread_arguments():
    lightning = '''
import torch
import torch.nn.functional as F
class Model:
    def training_step(self, batch, i):
        return F.nll_loss(self(batch[0]), batch[1])
    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=LR, weight_decay=0.01)
'''
    recipe = read_recipe(lightning)
    assert recipe.optimizer is not None and recipe.optimizer.short == "AdamW"
    assert dict(recipe.optimizer.kwargs) == {"weight_decay": 0.01}
    assert recipe.loss is not None and recipe.loss.name == "torch.nn.functional.nll_loss"
    assert any("argument lr is not a literal" in note for note in recipe.ignored)
    assert read_recipe(NET).empty


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0, max_train=512, max_val=256)


def test_a_huge_learning_rate_read_from_the_file_makes_training_diverge(digits):
    steady = NET + "\n\ndef train(net):\n    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)\n"
    wild = steady.replace("lr=0.1", "lr=1000.0")
    good = evaluate_variant(steady, "Net", digits, Budget(epochs=3), seed=0)
    bad = evaluate_variant(wild, "Net", digits, Budget(epochs=3), seed=0)
    assert good.ok and good.accuracy > 0.6
    assert not bad.ok or bad.accuracy < 0.3  # diverged (NaN losses: chance-level guesses)


def test_the_scheduler_is_stepped_once_per_epoch(digits, monkeypatch):
    source = ("import torch\nopt = torch.optim.SGD(p, lr=0.4)\n"
              "sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)\n")
    recipe = read_recipe(source)
    seen: list[float] = []
    original = torch.optim.lr_scheduler.StepLR.step

    def step(self, *args, **kwargs):
        seen.append(self.optimizer.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.lr_scheduler.StepLR, "step", step)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    x, y = torch.as_tensor(digits.x_train), torch.as_tensor(digits.y_train)
    train_model(model, x, y, Budget(epochs=3), torch.Generator().manual_seed(0), recipe)
    # the constructor's own step, then one after each epoch: epochs ran at 0.4, 0.2, 0.1
    assert seen == [0.4, 0.4, 0.2, 0.1]


def test_a_training_script_recipe_trains_a_log_softmax_model(digits):
    model = (SAMPLES / "recipe_split" / "model.py").read_text()
    script = (SAMPLES / "recipe_split" / "train.py").read_text()
    result = evaluate_variant(model, "Net", digits, Budget(epochs=3, train_source=script), seed=0)
    assert result.ok and result.accuracy > 0.7  # F.nll_loss on log-probabilities, as written
    assert Budget(train_source=script).key() != Budget().key()  # another recipe, another result


def test_recipe_lines_are_evolved_in_place():
    source = (SAMPLES / "poor_recipe" / "model.py").read_text()
    genome = Genome.parse(source, "Net")
    rng = random.Random(0)
    summaries, lines_changed = [], set()
    for _ in range(30):
        child = mutate_recipe(genome, rng)
        assert child is not None
        summaries.append(child.edits[0].summary)
        if summaries[-1].startswith("insert scheduler"):
            continue  # new lines (tested in test_recipe_script.py)
        lines_changed |= {i + 1 for i, (a, b) in enumerate(zip(source.splitlines(),
                                                                child.source.splitlines()))
                          if a != b}
        assert not read_recipe(child.source).empty
    assert lines_changed <= set(read_recipe(source).lines())
    assert any("SGD lr 0.05 →" in s for s in summaries)
    assert any("SGD momentum 0 → 0.9" in s for s in summaries)
    assert any("optimizer SGD →" in s for s in summaries)
    assert any("DataLoader batch_size 64 →" in s for s in summaries)
    assert any(s.startswith("insert scheduler") for s in summaries)  # none written: one added


def test_recipe_lines_cross_between_parents_and_are_listed_as_sites():
    from nnevolve.operators.recipe import crossover_recipe
    from nnevolve.site_listing import list_sites

    source = (SAMPLES / "poor_recipe" / "model.py").read_text()
    a = Genome.parse(source, "Net")
    b = Genome.parse(source.replace("lr=0.05)", "lr=0.5, momentum=0.9)"), "Net")
    child = crossover_recipe(a, b, random.Random(0))
    assert child is not None
    assert "optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.9)" in child.source
    listing = list_sites(source, "Net", (1, 8, 8), 10)
    recipe = {(i.line, i.type) for i in listing.items if i.kind == "recipe"}
    assert recipe == {(33, "batch_size"), (34, "optimizer"), (34, "lr")}
    off = list_sites(source, "Net", (1, 8, 8), 10, training=False)
    assert not any(i.kind == "recipe" for i in off.items)


def test_nnevolve_sites_lists_the_training_scripts_recipe_lines_with_its_name(tmp_path: Path):
    import json
    import shutil
    import subprocess
    import sys

    project = tmp_path / "recipe_split"
    shutil.copytree(SAMPLES / "recipe_split", project)
    listed = subprocess.run(
        [sys.executable, "-m", "nnevolve", "sites", str(project / "model.py"), "--json",
         "--input-shape", "1x8x8"], capture_output=True, text=True, timeout=240, check=True)
    sites = json.loads(listed.stdout)["sites"]
    script = project.joinpath("train.py").read_text().splitlines()
    recipe = [s for s in sites if s["kind"] == "recipe"]
    assert {s["type"] for s in recipe} >= {"optimizer", "lr", "batch_size"}
    for site in recipe:  # each names the script and points at its own line there
        assert site["file"] == "train.py"
        assert site["text"].strip("'") in script[site["line"] - 1]
    assert all(s["file"] == "" for s in sites if s["kind"] != "recipe")
