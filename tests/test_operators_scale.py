"""Scaling along the size axis, before → after: every width by one factor, a step deeper or
shallower, and the ladder the initial population is drawn from."""

from __future__ import annotations

import pytest

from genome_support import changed_lines
from nnevolve.genome import Genome
from nnevolve.operators.scale import scale_depth, scale_widths, scaled_width, size_ladder
from nnevolve.repair import repair

STACK = '''import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 32),
            nn.ReLU(),
            nn.Linear(32, 24),
            nn.ReLU(),
            nn.Linear(24, 10),
        )

    def forward(self, x):
        return self.net(x)
'''

TABLES = '''import torch
from torch import nn

cfg = [8, 'M', 16, 16, 'M', 32]


class Block(nn.Module):
    expansion = 2

    def __init__(self, planes):
        super().__init__()
        self.conv = nn.Conv2d(planes, planes, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv(x))


class Net(nn.Module):
    def __init__(self, counts=[2, 3]):
        super().__init__()
        layers, channels = [], 1
        for v in cfg:
            if v == 'M':
                layers.append(nn.MaxPool2d(2))
            else:
                layers.append(nn.Conv2d(channels, v, 3, padding=1))
                channels = v
        self.features = nn.Sequential(*layers)
        self.blocks = nn.Sequential(*[Block(32) for _ in range(counts[0] + counts[1])])
        self.fc = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.blocks(self.features(x)), 1))


def net():
    return Net([2, 3])
'''


@pytest.mark.parametrize(("value", "factor", "expected"), [
    (64, 0.25, 16), (64, 4, 256), (32, 0.5, 16), (100, 0.5, 48), (10, 0.5, 5), (3, 0.25, 1),
    (512, 4, 1024), (2000, 2, 2000),
])
def test_widths_scale_to_round_sizes_within_bounds(value: int, factor: float,
                                                   expected: int) -> None:
    assert scaled_width(value, factor) == expected


def test_every_literal_width_scales_together_but_the_output_and_names_stay() -> None:
    g = Genome.parse(STACK)
    child = scale_widths(g, 2.0)
    assert child is not None
    removed, added = changed_lines(STACK, child.source)
    assert [line.strip() for line in removed] == ["nn.Linear(hidden, 32),", "nn.Linear(32, 24),"]
    # in_features are the repair's, a width written as a name too; the output has 10 classes
    assert [line.strip() for line in added] == ["nn.Linear(hidden, 64),", "nn.Linear(32, 48),"]
    assert child.edits[0].op == "scale"
    assert child.edits[0].summary == ("widths ×2: Linear out_features 32→64 at line 12, "
                                      "Linear out_features 24→48 at line 14")


def test_a_scaled_network_is_made_consistent_by_the_repair() -> None:
    child = scale_widths(Genome.parse(STACK), 4.0)
    assert child is not None
    fixed = repair(child.source, "Net", (1, 8, 8), 10)
    assert fixed.ok, fixed.reason
    assert "nn.Linear(128, 96)" in fixed.source and "nn.Linear(96, 10)" in fixed.source


def test_table_widths_scale_with_the_layers_and_counts_do_not() -> None:
    g = Genome.parse(TABLES, "net")
    child = scale_widths(g, 0.5)
    assert child is not None
    lines = changed_lines(TABLES, child.source)[1]
    assert "cfg = [4, 'M', 8, 8, 'M', 16]" in lines
    blocks = "self.blocks = nn.Sequential(*[Block(16) for _ in range(counts[0] + counts[1])])"
    assert "        " + blocks in lines
    assert "return Net([2, 3])" in child.source and "expansion = 2" in child.source


def test_deeper_and_shallower_change_the_stage_counts_and_the_table_stages() -> None:
    g = Genome.parse(TABLES, "net")
    deeper = scale_depth(g, deeper=True)
    assert deeper is not None
    assert "cfg = [8, 8, 'M', 16, 16, 16, 'M', 32, 32]" in deeper.source
    assert "return Net([3, 4])" in deeper.source and "expansion = 2" in deeper.source
    shallower = scale_depth(g, deeper=False)
    assert shallower is not None
    assert "cfg = [8, 'M', 16, 'M', 32]" in shallower.source
    assert "return Net([1, 2])" in shallower.source
    assert "nn.Conv2d(channels, v, 3, padding=1)" in shallower.source  # no layer line goes


def test_a_plain_stack_repeats_or_loses_a_hidden_layer_never_the_output() -> None:
    g = Genome.parse(STACK)
    deeper = scale_depth(g, deeper=True)
    assert deeper is not None
    added = changed_lines(STACK, deeper.source)[1]
    assert [line.strip() for line in added] == ["nn.Linear(32, 24),", "nn.ReLU(),"]
    assert deeper.edits[0].summary == ("deeper: nn.Linear(32, 24) at line 14 repeated "
                                       "with its ReLU")
    assert repair(deeper.source, "Net", (1, 8, 8), 10).ok
    shallower = scale_depth(g, deeper=False)
    assert shallower is not None
    removed = changed_lines(STACK, shallower.source)[0]
    assert [line.strip() for line in removed] == ["nn.Linear(32, 24),"]
    assert repair(shallower.source, "Net", (1, 8, 8), 10).ok


def test_the_ladder_spreads_wide_early_and_ends_with_the_corners() -> None:
    ladder = size_ladder(Genome.parse(STACK))
    assert [child.edits[0].summary.split(":")[0] for child in ladder] == [
        "widths ×0.5", "widths ×4", "shallower", "resolution ×1/2", "shallower",
        "widths ×0.25", "deeper", "widths ×2", "shallower", "deeper"]
    assert [len(child.edits) for child in ladder[-2:]] == [2, 2]  # depth, then widths
    assert ladder[-1].edits[1].summary.startswith("widths ×2")
    # the smallest corner early: shallower, then at a quarter of the resolution
    assert ladder[4].edits[1].summary.startswith("resolution ×1/4: insert nn.AvgPool2d(4)")
    assert len({child.source for child in ladder}) == len(ladder)


def test_a_lower_resolution_pools_the_input_before_the_first_layer() -> None:
    from nnevolve.operators.scale import scale_resolution

    half = scale_resolution(Genome.parse(STACK), 2)
    assert half is not None
    assert [line.strip() for line in changed_lines(STACK, half.source)[1]] == [
        "nn.AvgPool2d(2),"]
    assert half.source.index("nn.AvgPool2d(2)") < half.source.index("nn.Flatten()")
    fixed = repair(half.source, "Net", (1, 8, 8), 10)
    # the first Linear now sees 4 × 4 = 16 features, not 64
    assert fixed.ok and fixed.fixes == ("Linear in_features 64→16 at line 11",), fixed
