"""Shared fixtures for the genome, operator and gene-pool tests: small model files as text."""

from __future__ import annotations

import difflib
import textwrap

from nnevolve.genome import Genome, Site


def src(text: str) -> str:
    """Dedented source with a single trailing newline (fixtures read like files)."""
    return textwrap.dedent(text).lstrip("\n")


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """The lines removed from ``before`` and the lines added in ``after``."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


# the seed idea of architecture.md: a `layers.append` stack of 1x1 convolutions
COLOR_NET = src(
    """
    import torch
    import torch.nn as nn


    class ColorNet(nn.Module):
        def __init__(self, p=8, out_feature=16, bin_num=4):
            super().__init__()
            layers = []
            layers.append(nn.Conv2d(1, 2*p, 3, padding=1))
            layers.append(nn.ReLU())
            # add final layers (1x1 convolutions)
            layers.append(nn.Conv2d(2*p, out_feature, 1))      # connection layer
            layers.append(nn.ReLU())                            # activation function
            layers.append(nn.Conv2d(out_feature, out_feature, 1))
            layers.append(nn.ReLU())
            layers.append(nn.Conv2d(out_feature, 3*bin_num, 1)) # three colors
            self.network = nn.Sequential(*layers)

        def forward(self, x):
            return self.network(x)
    """
)

# its partner in the seed idea: a fully connected `slayers.append` stack
TANH_NET = src(
    """
    import torch.nn as nn

    p = 8


    class TanhNet(nn.Module):
        def __init__(self):
            super().__init__()
            slayers = []
            slayers.append(nn.Flatten())
            slayers.append(nn.Linear(2*p, 100))
            slayers.append(nn.Tanh())
            slayers.append(nn.Linear(100, 10))
            self.body = nn.Sequential(*slayers)

        def forward(self, x):
            return self.body(x)
    """
)

# attributes in __init__, functional activations in forward
ATTRIBUTE_NET = src(
    """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class AttributeNet(nn.Module):
        \"\"\"A classic LeNet-style network.\"\"\"

        def __init__(self, num_classes=10):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
            self.drop = nn.Dropout(0.25)
            self.fc1 = nn.Linear(16 * 2 * 2, 64)
            self.fc2 = nn.Linear(64, num_classes)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = torch.flatten(x, 1)
            x = self.drop(x)
            x = F.relu(self.fc1(x))
            return self.fc2(x)
    """
)

# nn.Sequential literals, multi-line with comments and a trailing comma
SEQUENTIAL_NET = src(
    """
    from torch import nn


    class SequentialNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding=1),  # first block
                nn.BatchNorm2d(16),
                nn.ReLU(),
                nn.MaxPool2d(2),  # 8x8 -> 4x4
            )
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 10))

        def forward(self, x):
            return self.classifier(self.features(x))
    """
)

# one Sequential from a convolution to the classes: a seed to insert blocks into
SEQUENTIAL_SEED = src(
    """
    import torch.nn as nn


    class Seed(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(
                nn.Conv2d(1, 8, 3, padding=1),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(8 * 8 * 8, 10),
            )

        def forward(self, x):
            return self.net(x)
    """
)

# a multi-layer perceptron through torch.nn spelled out, with a ModuleList
MLP_NET = src(
    """
    import torch


    HIDDEN = 64


    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList([
                torch.nn.Linear(64, HIDDEN),
                torch.nn.LeakyReLU(0.1),
                torch.nn.Dropout(0.2),
                torch.nn.Linear(HIDDEN, 10),
            ])

        def forward(self, x):
            x = x.flatten(1)
            for layer in self.layers:
                x = layer(x)
            return x
    """
)

NETWORKS = {
    "ColorNet": COLOR_NET,
    "TanhNet": TANH_NET,
    "AttributeNet": ATTRIBUTE_NET,
    "SequentialNet": SEQUENTIAL_NET,
    "MLP": MLP_NET,
}


def at(genome: Genome, code: str, nth: int = 0) -> Site:
    """The ``nth`` site of ``genome`` whose code is ``code``."""
    return [s for s in genome.sites if s.code == code][nth]
