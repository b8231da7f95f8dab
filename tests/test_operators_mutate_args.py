"""Argument mutation, before → after: one hyper-parameter of one layer moves within its range."""

from __future__ import annotations

import ast
import random

import pytest

from genome_support import ATTRIBUTE_NET, COLOR_NET, MLP_NET, SEQUENTIAL_NET, at, changed_lines, src
from nnevolve.genome import Genome, Site
from nnevolve.operators import mutate_args
from nnevolve.operators.mutate_args import (
    PARAMETERS,
    Change,
    apply_change,
    mutable_parameters,
    propose,
)


def parameter(site: Site, keyword: str):
    return next(p for p in PARAMETERS[site.name.rsplit(".", 1)[-1]] if p.keyword == keyword)


def test_a_width_change_rewrites_the_positional_argument():
    genome = Genome.parse(ATTRIBUTE_NET)
    site = at(genome, "nn.Conv2d(1, 8, 3, padding=1)")
    child = apply_change(genome, site, Change(parameter(site, "out_channels"), 8, 16))
    assert child is not None
    assert changed_lines(ATTRIBUTE_NET, child.source)[1] == [
        "        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)"
    ]
    assert child.edits[0].summary == "Conv2d out_channels 8→16 at line 11"


def test_a_kernel_change_keeps_same_padding():
    genome = Genome.parse(ATTRIBUTE_NET)
    site = at(genome, "nn.Conv2d(8, 16, 3, padding=1)")
    change = propose(genome, site, parameter(site, "kernel_size"), random.Random(1))
    assert change is not None and change.padding == (1, change.new // 2)
    child = apply_change(genome, site, change)
    assert child is not None
    assert changed_lines(ATTRIBUTE_NET, child.source)[1] == [
        f"        self.conv2 = nn.Conv2d(8, 16, {change.new}, padding={change.new // 2})"
    ]
    assert (
        child.edits[0].summary
        == f"Conv2d kernel_size 3→{change.new} (padding 1→{change.new // 2}) at line 12"
    )


def test_a_one_by_one_convolution_gets_padding_when_its_kernel_grows():
    genome = Genome.parse(COLOR_NET)
    site = at(genome, "nn.Conv2d(out_feature, out_feature, 1)")
    child = apply_change(genome, site, Change(parameter(site, "kernel_size"), 1, 5, (0, 2)))
    assert child is not None
    assert changed_lines(COLOR_NET, child.source)[1] == [
        "        layers.append(nn.Conv2d(out_feature, out_feature, 5, padding=2))"
    ]


def test_a_missing_dropout_probability_is_added_as_a_keyword():
    source = src(
        """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Linear(64, 64), nn.Dropout(), nn.Linear(64, 10))

            def forward(self, x):
                return self.net(x)
        """
    )
    genome = Genome.parse(source)
    site = at(genome, "nn.Dropout()")
    child = apply_change(genome, site, Change(parameter(site, "p"), 0.5, 0.3))
    assert child is not None
    assert "nn.Dropout(p=0.3)" in child.source
    assert child.edits[0].summary == "Dropout p 0.5→0.3 at line 7"


def test_a_width_held_in_a_constant_becomes_a_literal():
    genome = Genome.parse(MLP_NET)
    site = at(genome, "torch.nn.Linear(64, HIDDEN)")
    assert [p.keyword for p in mutable_parameters(genome, site)] == ["out_features"]
    child = apply_change(genome, site, Change(parameter(site, "out_features"), 64, 32))
    assert child is not None
    assert changed_lines(MLP_NET, child.source)[1] == ["            torch.nn.Linear(64, 32),"]


def test_the_output_layer_width_never_changes():
    for source in (ATTRIBUTE_NET, SEQUENTIAL_NET, MLP_NET, COLOR_NET):
        genome = Genome.parse(source)
        output = genome.output_site()
        assert all(p.kind != "width" for p in mutable_parameters(genome, output))
    genome = Genome.parse(ATTRIBUTE_NET)
    for seed in range(40):
        child = mutate_args(genome, random.Random(seed))
        assert child is not None
        assert "self.fc2 = nn.Linear(64, num_classes)" in child.source


@pytest.mark.parametrize("source", [ATTRIBUTE_NET, SEQUENTIAL_NET, MLP_NET, COLOR_NET])
def test_every_mutation_stays_within_its_range(source):
    genome = Genome.parse(source)
    for seed in range(30):
        child = mutate_args(genome, random.Random(seed))
        assert child is not None
        (summary,) = [e.summary for e in child.edits]
        layer, name, values = summary.split(" ")[:3]
        old, new = (float(v) for v in values.split("→"))
        assert old != new
        if name in ("out_features", "out_channels"):
            assert 1 <= new <= 1024 and new in (round(old * f) for f in (0.5, 0.75, 1.25, 2.0))
        elif name == "kernel_size" and layer.startswith("Conv"):
            assert new in (1, 3, 5, 7)
        elif name == "p":
            assert 0.0 <= new <= 0.7
        elif name == "negative_slope":
            assert 0.001 <= new <= 0.5
        elif name == "stride":
            assert new in (1, 2)
        ast.parse(child.source)


def test_mutate_args_is_deterministic_for_a_seed():
    genome = Genome.parse(SEQUENTIAL_NET)
    assert [mutate_args(genome, random.Random(s)) for s in range(10)] == [
        mutate_args(genome, random.Random(s)) for s in range(10)
    ]


def test_a_network_with_nothing_to_mutate_gives_none():
    source = src(
        """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self, classes):
                super().__init__()
                self.net = nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Linear(64, classes))

            def forward(self, x):
                return self.net(x)
        """
    )
    assert mutate_args(Genome.parse(source), random.Random(0)) is None
