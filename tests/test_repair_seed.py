"""The seed idea of architecture.md: MLP lines crossed into a `layers.append` conv stack run.

The receiving network builds its layers with ``layers.append(...)`` and ends in 1×1
convolutions; the parent reads ``slayers.append(nn.Linear(2*p, 100))``,
``slayers.append(nn.Tanh())``. The crossover (already done here, ``slayers`` renamed to
``layers``, ``2*p`` left as is: ``p`` exists in the receiver too) gives a program whose
widths disagree; the repair must make it run on digits (1, 8, 8) with 10 classes.
"""

from __future__ import annotations

import re

from nnevolve.repair import repair
from repair_support import DIGITS, MNIST, run_for_real, src

RECEIVER = src("""
    import torch.nn as nn


    class SeedNet(nn.Module):
        def __init__(self, p=8, out_feature=32, num_classes=10):
            super().__init__()
            layers = []
            layers.append(nn.Conv2d(1, p, 3, padding=1))
            layers.append(nn.ReLU())
            layers.append(nn.Conv2d(p, 2*p, 3, padding=1))
            layers.append(nn.ReLU())
            layers.append(nn.MaxPool2d(2))
            # add final layers (1x1 convolutions)
            layers.append(nn.Conv2d(2*p, out_feature, 1))      # connection layer
            layers.append(nn.ReLU())                            # activation function
            layers.append(nn.Conv2d(out_feature, out_feature, 1))
            layers.append(nn.ReLU())
            layers.append(nn.Conv2d(out_feature, num_classes, 1))  # one map per class
            layers.append(nn.AdaptiveAvgPool2d(1))
            layers.append(nn.Flatten())
            self.network = nn.Sequential(*layers)

        def forward(self, x):
            return self.network(x)
    """)

CROSSED_LINES = ("        layers.append(nn.Linear(2*p, 100))\n"
                 "        layers.append(nn.Tanh())\n")


def crossed(replaced: str) -> str:
    """The receiver with the ``replaced`` lines exchanged for the parent's two lines."""
    assert replaced in RECEIVER
    return RECEIVER.replace(replaced, CROSSED_LINES)


def test_the_receiving_network_itself_needs_no_repair():
    result = repair(RECEIVER, "SeedNet", *DIGITS)
    assert result.ok and result.source == RECEIVER and result.fixes == ()


def test_lines_crossed_over_the_classifier_head_get_a_flatten_and_widths():
    source = crossed("        layers.append(nn.AdaptiveAvgPool2d(1))\n"
                     "        layers.append(nn.Flatten())\n")
    result = repair(source, "SeedNet", *DIGITS)
    assert result.ok, result.reason
    assert result.source == source.replace(
        "layers.append(nn.Linear(2*p, 100))",
        "layers.append(nn.Flatten())\n        layers.append(nn.Linear(20*p, 10))")
    assert result.fixes == (
        "Linear in_features 2*p→20*p at line 20",
        "insert `layers.append(nn.Flatten())` before the Linear at line 20",
        "Linear out_features 100→10 at line 20 (the output must have 10 classes)",
    )
    run_for_real(result.source, "SeedNet", *DIGITS)


def test_lines_crossed_into_the_middle_of_the_conv_stack_keep_it_four_dimensional():
    source = crossed("        layers.append(nn.Conv2d(out_feature, out_feature, 1))\n"
                     "        layers.append(nn.ReLU())\n")
    result = repair(source, "SeedNet", *DIGITS)
    assert result.ok, result.reason
    # a Flatten would starve the 1×1 convolution after it of its 4-D input, so the Linear
    # mixes along the width axis of the 4×4 maps, as torch applies a Linear to a 4-D tensor
    # 2*p is 16, the maps are 4 wide: a whole fraction of the expression, which keeps p
    assert result.source == source.replace("nn.Linear(2*p, 100)", "nn.Linear(2*p // 4, 100)")
    assert result.fixes == (
        "Linear in_features 2*p→2*p // 4 at line 16 (along the last dimension of its input)",)
    run_for_real(result.source, "SeedNet", *DIGITS)


def test_lines_crossed_after_the_flatten_get_their_widths_from_the_classes():
    lines = CROSSED_LINES.replace("2*p", "16")
    source = RECEIVER.replace("        layers.append(nn.Flatten())\n",
                              "        layers.append(nn.Flatten())\n" + lines)
    result = repair(source, "SeedNet", *DIGITS)
    assert result.ok, result.reason
    assert "nn.Linear(10, 10)" in result.source
    assert result.fixes == (
        "Linear in_features 16→10 at line 21",
        "Linear out_features 100→10 at line 21 (the output must have 10 classes)",
    )
    run_for_real(result.source, "SeedNet", *DIGITS)


def test_a_crossed_width_that_refers_to_a_name_is_never_folded_into_a_literal():
    source = RECEIVER.replace("        layers.append(nn.Flatten())\n",
                              "        layers.append(nn.Flatten())\n" + CROSSED_LINES)
    result = repair(source, "SeedNet", *DIGITS)
    assert not result.ok
    # 10 is neither c * p for an integer c (p = 8) nor a whole multiple or fraction of 16
    assert result.reason == ("Linear in_features `2*p` at line 21 would need 10: it refers to "
                             "names, and no new value of a literal in it nor a whole multiple or "
                             "fraction of it gives that")


def test_every_placement_of_the_crossed_lines_runs_or_is_rejected_with_a_reason():
    lines = RECEIVER.splitlines(keepends=True)
    append_lines = [i for i, line in enumerate(lines) if "layers.append(" in line]
    runnable = 0
    for i in append_lines:
        for task in (DIGITS, MNIST):
            source = "".join(lines[:i] + [CROSSED_LINES] + lines[i:])
            result = repair(source, "SeedNet", *task)
            if result.ok:
                run_for_real(result.source, "SeedNet", *task)
                assert re.search(r"nn\.Linear\([^,]*\bp\b[^,]*, 100\)", result.source)  # keeps p
                runnable += 1
            else:
                assert result.reason.startswith("Linear in_features `2*p` at line ")
    # naive line GI yields mostly broken programs; after repair every placement runs, or the
    # width 2*p (16) cannot reach the one needed while keeping p: 28 or 14 wide MNIST maps
    # (last-dimension Linears) and the 10 classes after the final 1×1 convolution
    assert runnable == len(append_lines) - 1
