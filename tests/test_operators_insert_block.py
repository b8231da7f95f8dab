"""Block insertion into the user's own layers: the block leaves the activation to the user's
own one that follows it."""

from __future__ import annotations

from pathlib import Path

from genome_support import changed_lines, src
from nnevolve.gene_pool.pool import Block
from nnevolve.genome import Genome
from nnevolve.operators.insert import insertion_points
from nnevolve.operators.insert_block import insert_block_at
from nnevolve.repair import repair

VGG_BLOCK = Block(("nn.Conv2d(64, 128, kernel_size=3, padding=1)", "nn.BatchNorm2d(128)",
                   "nn.ReLU(inplace=True)", "nn.MaxPool2d(2)"), "zoo:torchvision vgg.py")

# VGG's own spelling: an in-place ReLU right after each convolution
SEQUENTIAL = src('''
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 16, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                nn.Linear(32, 10),
            )

        def forward(self, x):
            return self.features(x)
''')

FORWARD = src('''
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
            self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            x = self.conv1(x)
            x = F.relu(x, inplace=True)
            x = self.conv2(x)
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
            return self.fc(x)
''')


def _after(g: Genome, code: str, style: str):
    return next(p for p in insertion_points(g) if p.after and p.style == style
                and p.site.code.startswith(code))


def test_before_the_users_own_activation_the_block_ends_without_its_own() -> None:
    g = Genome.parse(SEQUENTIAL)
    child = insert_block_at(g, _after(g, "nn.Conv2d(3, 16", "sequential"), VGG_BLOCK)
    assert child is not None
    assert [line.strip() for line in changed_lines(SEQUENTIAL, child.source)[1]] == [
        "nn.Conv2d(16, 16, kernel_size=3, padding=1),  # block from torchvision vgg.py",
        "nn.BatchNorm2d(16),"]
    # with its ReLU kept, the user's in-place ReLU would overwrite what it saves for backward
    fixed = repair(child.source, "Net", (3, 8, 8), 10)
    assert fixed.ok and fixed.fixes == (), (fixed.reason, fixed.fixes)
    # before anything else (a pooling layer here) it keeps its activation
    pooled = insert_block_at(g, _after(g, "nn.ReLU(inplace=True)", "sequential"), VGG_BLOCK)
    assert pooled is not None and pooled.edits[0].summary.startswith(
        "insert block nn.Conv2d(16, 16, kernel_size=3, padding=1) → nn.BatchNorm2d(16) → "
        "nn.ReLU(inplace=True) after line 9")


def test_before_an_activation_call_of_forward_the_block_ends_without_its_own() -> None:
    g = Genome.parse(FORWARD)
    child = insert_block_at(g, _after(g, "nn.Conv2d(3, 16", "forward"), VGG_BLOCK)
    assert child is not None
    added = [line.strip() for line in changed_lines(FORWARD, child.source)[1]]
    assert not any("ReLU" in line for line in added), added
    fixed = repair(child.source, "Net", (3, 8, 8), 10)
    assert fixed.ok, fixed.reason


def test_a_block_after_a_residual_sum_fits_every_instance_of_the_block_class() -> None:
    # ResNet's BasicBlock ends `out += self.shortcut(x)` / `out = F.relu(out)` and registers
    # its shortcut inside an `if`: the block's layers go in BasicBlock's own __init__, at its
    # top level, as wide as bn2 (the sum keeps its channels) whatever planes an instance has
    source = (Path(__file__).resolve().parent.parent / "samples" / "resnet_blocks.py").read_text()
    g = Genome.parse(source, "ResNet8")
    point = next(p for p in insertion_points(g) if p.style == "forward" and p.after
                 and p.statement is not None and g.line_of(p.statement) == 36)
    child = insert_block_at(g, point, VGG_BLOCK)
    assert child is not None
    assert "        self.conv4 = nn.Conv2d(self.bn2.num_features, self.bn2.num_features, " \
        "kernel_size=3, padding=1)  # block from torchvision vgg.py\n" in child.source
    fixed = repair(child.source, "ResNet8", (1, 8, 8), 10)
    assert fixed.ok and fixed.fixes == (), (fixed.reason, fixed.fixes)
