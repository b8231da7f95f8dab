"""Deletion, before → after: a typed line goes and the program stays valid."""

from __future__ import annotations

import random

from genome_support import (
    ATTRIBUTE_NET,
    COLOR_NET,
    NETWORKS,
    SEQUENTIAL_NET,
    at,
    changed_lines,
    src,
)
from nnevolve.genome import Genome
from nnevolve.operators import Offspring, delete
from nnevolve.operators.delete import deletable_sites, delete_site


def deleted(source: str, code: str, occurrence: int = 0) -> Offspring:
    """``source`` without the site whose code is ``code`` (its ``occurrence``-th)."""
    genome = Genome.parse(source)
    child = delete_site(genome, at(genome, code, occurrence))
    assert child is not None
    return child


def test_an_appended_layer_goes_with_its_statement():
    child = deleted(COLOR_NET, "nn.ReLU()", 1)
    assert child.source == COLOR_NET.replace(
        "        layers.append(nn.ReLU())                            # activation function\n", ""
    )
    assert child.edits[0].summary == "delete nn.ReLU() at line 13"


def test_a_sequential_element_goes_with_its_own_comment():
    child = deleted(SEQUENTIAL_NET, "nn.Conv2d(1, 16, 3, padding=1)")
    assert child.source == SEQUENTIAL_NET.replace(
        "            nn.Conv2d(1, 16, 3, padding=1),  # first block\n", ""
    )


def test_the_last_sequential_element_leaves_the_literal_well_formed():
    child = deleted(SEQUENTIAL_NET, "nn.MaxPool2d(2)")
    # the comment of the deleted line goes with it; the trailing comma style stays
    assert child.source == SEQUENTIAL_NET.replace(
        "            nn.MaxPool2d(2),  # 8x8 -> 4x4\n", ""
    )
    one_line = deleted(SEQUENTIAL_NET, "nn.ReLU()", 1)
    assert changed_lines(SEQUENTIAL_NET, one_line.source)[1] == [
        "        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * 4 * 4, 32), nn.Linear(32, 10))"
    ]


def test_an_attribute_goes_with_its_uses_in_forward():
    child = deleted(ATTRIBUTE_NET, "nn.Dropout(0.25)")
    assert child.source == ATTRIBUTE_NET.replace(
        "        self.drop = nn.Dropout(0.25)\n", ""
    ).replace("        x = self.drop(x)\n", "")
    assert child.edits[0].summary == "delete self.drop = nn.Dropout(0.25) at line 13 and its 1 use"


def test_a_nested_use_gives_way_to_its_argument():
    child = deleted(ATTRIBUTE_NET, "nn.Linear(16 * 2 * 2, 64)")
    assert changed_lines(ATTRIBUTE_NET, child.source) == (
        ["        self.fc1 = nn.Linear(16 * 2 * 2, 64)", "        x = F.relu(self.fc1(x))"],
        ["        x = F.relu(x)"],
    )


def test_an_attribute_used_in_another_way_becomes_identity():
    source = src(
        """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(64, 64)
                self.act = nn.ReLU()
                self.fc2 = nn.Linear(64, 10)

            def forward(self, x):
                x = self.act(self.fc1(x))
                if isinstance(self.act, nn.ReLU):
                    x = x * 1.0
                return self.fc2(x)
        """
    )
    child = deleted(source, "nn.ReLU()")
    assert changed_lines(source, child.source) == (
        ["        self.act = nn.ReLU()"],
        ["        self.act = nn.Identity()"],
    )
    assert child.edits[0].summary == "replace self.act = nn.ReLU() by nn.Identity() at line 8"


def test_a_functional_call_gives_way_to_its_tensor():
    child = deleted(ATTRIBUTE_NET, "F.relu(self.conv1(x))")
    assert changed_lines(ATTRIBUTE_NET, child.source)[1] == [
        "        x = F.max_pool2d(self.conv1(x), 2)"
    ]
    standalone = src(
        """
        import torch.nn as nn
        import torch.nn.functional as F


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(64, 64)
                self.fc2 = nn.Linear(64, 10)

            def forward(self, x):
                x = self.fc1(x)
                x = F.relu(x)
                return self.fc2(x)
        """
    )
    child = deleted(standalone, "F.relu(x)")
    assert child.source == standalone.replace("        x = F.relu(x)\n", "")


def test_the_output_layer_the_last_connection_and_reshapes_are_never_deleted():
    for source in NETWORKS.values():
        genome = Genome.parse(source)
        candidates = deletable_sites(genome)
        assert genome.output_site() not in candidates
        assert all(s.type != "reshape" for s in candidates)
    single = src(
        """
        import torch.nn as nn


        class Single(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.ReLU())

            def forward(self, x):
                return self.net(x)
        """
    )
    genome = Genome.parse(single)
    assert [s.code for s in deletable_sites(genome)] == ["nn.ReLU()"]


def test_a_list_or_sequential_always_keeps_one_layer():
    source = src(
        """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Sequential(nn.Linear(64, 64))
                self.act = nn.Sequential(nn.ReLU())
                self.out = nn.Linear(64, 10)

            def forward(self, x):
                return self.out(self.act(self.body(x)))
        """
    )
    genome = Genome.parse(source)
    assert deletable_sites(genome) == []
    assert delete(genome, random.Random(0)) is None


def test_delete_is_deterministic_and_always_valid_for_every_seed():
    genome = Genome.parse(ATTRIBUTE_NET)
    children = [delete(genome, random.Random(seed)) for seed in range(15)]
    assert children == [delete(genome, random.Random(seed)) for seed in range(15)]
    for child in children:
        assert child is not None
        compile(child.source, "<child>", "exec")
        assert "self.fc2" in child.source  # the output layer stays
