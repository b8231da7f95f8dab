"""Typed crossover, before → after: lines of one type move from parent B into parent A."""

from __future__ import annotations

import random

from genome_support import (
    ATTRIBUTE_NET,
    COLOR_NET,
    MLP_NET,
    SEQUENTIAL_NET,
    TANH_NET,
    at,
    changed_lines,
    src,
)
from nnevolve.genome import Genome
from nnevolve.operators import crossover
from nnevolve.operators.crossover import transplant


def test_the_seed_example_slayers_linear_lands_in_the_layers_list():
    a, b = Genome.parse(COLOR_NET), Genome.parse(TANH_NET)
    child = transplant(
        a, b, [at(a, "nn.Conv2d(2*p, out_feature, 1)")], [at(b, "nn.Linear(2*p, 100)")]
    )
    assert child is not None
    # only the layer call moved: the list is A's `layers`, A's comment stays on its line
    assert changed_lines(COLOR_NET, child.source) == (
        ["        layers.append(nn.Conv2d(2*p, out_feature, 1))      # connection layer"],
        ["        layers.append(nn.Linear(2*p, 100))      # connection layer"],
    )
    assert [e.summary for e in child.edits] == [
        (
            "crossover: line 12 nn.Conv2d(2*p, out_feature, 1) → nn.Linear(2*p, 100)"
            " (connection line from parent B)"
        )
    ]


def test_the_seed_example_activation_tanh_replaces_relu():
    a, b = Genome.parse(COLOR_NET), Genome.parse(TANH_NET)
    child = transplant(a, b, [at(a, "nn.ReLU()", 1)], [at(b, "nn.Tanh()")])
    assert child is not None
    assert changed_lines(COLOR_NET, child.source) == (
        ["        layers.append(nn.ReLU())                            # activation function"],
        ["        layers.append(nn.Tanh())                            # activation function"],
    )


def test_a_run_of_two_connection_lines_moves_together():
    a, b = Genome.parse(COLOR_NET), Genome.parse(TANH_NET)
    receiving = [
        at(a, "nn.Conv2d(2*p, out_feature, 1)"),
        at(a, "nn.Conv2d(out_feature, out_feature, 1)"),
    ]
    donating = [at(b, "nn.Linear(2*p, 100)"), at(b, "nn.Linear(100, 10)")]
    child = transplant(a, b, receiving, donating)
    assert child is not None
    assert changed_lines(COLOR_NET, child.source)[1] == [
        "        layers.append(nn.Linear(2*p, 100))      # connection layer",
        "        layers.append(nn.Linear(100, 10))",
    ]
    assert child.edits[0].summary == "crossover: 2 connection lines from parent B at lines 12, 14"


FIXED_NET = src(
    """
    import torch.nn as nn


    class FixedNet(nn.Module):
        def __init__(self):
            super().__init__()
            layers = []
            layers.append(nn.Conv2d(1, 16, 3, padding=1))
            layers.append(nn.ReLU())
            layers.append(nn.Conv2d(16, 32, 1))
            layers.append(nn.Conv2d(32, 10, 1))
            self.network = nn.Sequential(*layers)

        def forward(self, x):
            return self.network(x)
    """
)


def test_a_name_the_receiver_lacks_is_bound_to_the_donors_constant():
    # TanhNet's `p` is a module constant (8); FixedNet has no `p`
    a, b = Genome.parse(FIXED_NET), Genome.parse(TANH_NET)
    child = transplant(a, b, [at(a, "nn.Conv2d(16, 32, 1)")], [at(b, "nn.Linear(2*p, 100)")])
    assert child is not None
    assert changed_lines(FIXED_NET, child.source) == (
        ["        layers.append(nn.Conv2d(16, 32, 1))"],
        ["        layers.append(nn.Linear(16, 100))"],
    )


def test_a_name_without_a_constant_takes_the_receivers_argument_in_the_same_role():
    donor = src(
        """
        import torch.nn as nn


        class Donor(nn.Module):
            def __init__(self, hidden):
                super().__init__()
                self.fc = nn.Linear(hidden, 100)
                self.out = nn.Linear(100, 10)

            def forward(self, x):
                return self.out(self.fc(x))
        """
    )
    a, b = Genome.parse(FIXED_NET), Genome.parse(donor)
    child = transplant(a, b, [at(a, "nn.Conv2d(16, 32, 1)")], [at(b, "nn.Linear(hidden, 100)")])
    assert child is not None
    assert changed_lines(FIXED_NET, child.source)[1] == [
        "        layers.append(nn.Linear(16, 100))"
    ]


def test_a_name_that_cannot_be_bound_drops_the_crossover():
    donor = src(
        """
        import torch.nn as nn


        class Donor(nn.Module):
            def __init__(self, use_bias):
                super().__init__()
                self.fc = nn.Linear(64, 100, bias=use_bias)
                self.out = nn.Linear(100, 10)

            def forward(self, x):
                return self.out(self.fc(x))
        """
    )
    a, b = Genome.parse(FIXED_NET), Genome.parse(donor)
    assert (
        transplant(
            a, b, [at(a, "nn.Conv2d(16, 32, 1)")], [at(b, "nn.Linear(64, 100, bias=use_bias)")]
        )
        is None
    )


def test_self_attributes_of_the_donor_are_bound_to_their_values():
    donor = src(
        """
        import torch
        import torch.nn as nn


        class Wide(nn.Module):
            def __init__(self, width=48):
                super().__init__()
                self.width = width
                self.fc1 = nn.Linear(64, self.width)
                self.fc2 = nn.Linear(self.width, 10)

            def forward(self, x):
                return self.fc2(torch.relu(self.fc1(x)))
        """
    )
    a, b = Genome.parse(ATTRIBUTE_NET), Genome.parse(donor)
    child = transplant(
        a, b, [at(a, "nn.Linear(16 * 2 * 2, 64)")], [at(b, "nn.Linear(64, self.width)")]
    )
    assert child is not None
    assert changed_lines(ATTRIBUTE_NET, child.source) == (
        ["        self.fc1 = nn.Linear(16 * 2 * 2, 64)"],
        ["        self.fc1 = nn.Linear(64, 48)"],
    )


def test_functional_calls_keep_the_receivers_tensor():
    donor = src(
        """
        import torch.nn as nn
        import torch.nn.functional as F


        class Leaky(nn.Module):
            def __init__(self):
                super().__init__()
                self.l1 = nn.Linear(64, 32)
                self.l2 = nn.Linear(32, 10)

            def forward(self, h):
                h = F.leaky_relu(self.l1(h), 0.2)
                return self.l2(h)
        """
    )
    a, b = Genome.parse(ATTRIBUTE_NET), Genome.parse(donor)
    child = transplant(
        a, b, [at(a, "F.relu(self.fc1(x))")], [at(b, "F.leaky_relu(self.l1(h), 0.2)")]
    )
    assert child is not None
    assert changed_lines(ATTRIBUTE_NET, child.source) == (
        ["        x = F.relu(self.fc1(x))"],
        ["        x = F.leaky_relu(self.fc1(x), 0.2)"],
    )


def test_the_callee_takes_the_receivers_spelling_of_torch_nn():
    a, b = Genome.parse(SEQUENTIAL_NET), Genome.parse(MLP_NET)
    child = transplant(a, b, [at(a, "nn.ReLU()")], [at(b, "torch.nn.LeakyReLU(0.1)")])
    assert child is not None
    assert changed_lines(SEQUENTIAL_NET, child.source)[1] == ["            nn.LeakyReLU(0.1),"]


def test_a_receiver_without_an_nn_alias_gets_the_import():
    plain = src(
        """
        from torch.nn import Linear, Module, ReLU


        class Plain(Module):
            def __init__(self):
                super().__init__()
                self.fc = Linear(64, 32)
                self.act = ReLU()
                self.out = Linear(32, 10)

            def forward(self, x):
                return self.out(self.act(self.fc(x)))
        """
    )
    a, b = Genome.parse(plain), Genome.parse(TANH_NET)
    child = transplant(a, b, [at(a, "ReLU()")], [at(b, "nn.Tanh()")])
    assert child is not None
    assert child.source == plain.replace(
        "from torch.nn import Linear, Module, ReLU\n",
        "from torch.nn import Linear, Module, ReLU\nimport torch.nn as nn\n",
    ).replace("self.act = ReLU()", "self.act = nn.Tanh()")
    # where `import torch` already reaches torch.nn, no import is added
    with_torch = "import torch\n" + plain
    a = Genome.parse(with_torch)
    child = transplant(a, b, [at(a, "ReLU()")], [at(b, "nn.Tanh()")])
    assert child is not None
    assert child.source == with_torch.replace("self.act = ReLU()", "self.act = torch.nn.Tanh()")


def test_the_output_layer_keeps_its_number_of_classes():
    a, b = Genome.parse(ATTRIBUTE_NET), Genome.parse(TANH_NET)
    assert a.output_site() == at(a, "nn.Linear(64, num_classes)")
    child = transplant(a, b, [at(a, "nn.Linear(64, num_classes)")], [at(b, "nn.Linear(100, 10)")])
    assert child is not None
    assert changed_lines(ATTRIBUTE_NET, child.source)[1] == [
        "        self.fc2 = nn.Linear(100, num_classes)"
    ]


def test_lines_of_different_types_are_never_exchanged():
    a, b = Genome.parse(COLOR_NET), Genome.parse(TANH_NET)
    assert transplant(a, b, [at(a, "nn.ReLU()")], [at(b, "nn.Linear(100, 10)")]) is None


def test_crossover_is_deterministic_for_a_seed_and_keeps_everything_else():
    a, b = Genome.parse(COLOR_NET), Genome.parse(TANH_NET)
    children = [crossover(a, b, random.Random(seed)) for seed in range(20)]
    again = [crossover(a, b, random.Random(seed)) for seed in range(20)]
    assert children == again
    sources = {c.source for c in children if c is not None}
    assert len(sources) >= 5
    for child in children:
        assert child is not None and child.edits[0].op == "crossover"
        removed, added = changed_lines(COLOR_NET, child.source)
        # every changed line is an append statement of A's own list; comments stay
        assert removed and all(
            line.strip().startswith("layers.append(") for line in removed + added
        )
        kept = [line for line in COLOR_NET.splitlines() if line not in removed]
        assert all(line in child.source.splitlines() for line in kept)


def test_a_line_moved_onto_itself_is_no_crossover():
    a = Genome.parse(COLOR_NET)
    site = at(a, "nn.Conv2d(2*p, out_feature, 1)")
    assert transplant(a, a, [site], [site]) is None


def test_parents_without_a_shared_line_type_give_none():
    donor = src(
        """
        import torch.nn as nn
        import torch.nn.functional as F


        class OnlyFlatten(nn.Module):
            def __init__(self):
                super().__init__()
                self.flat = nn.Flatten()

            def forward(self, x):
                return F.relu(self.flat(x))
        """
    )
    # ColorNet has no functional calls, OnlyFlatten has no editable layer
    a, b = Genome.parse(COLOR_NET), Genome.parse(donor)
    assert all(crossover(a, b, random.Random(seed)) is None for seed in range(5))


def test_a_convolution_never_lands_where_the_data_is_flat():
    # TanhNet is flat after its Flatten; a Conv2d there could not be repaired
    a, b = Genome.parse(TANH_NET), Genome.parse(COLOR_NET)
    assert (
        transplant(a, b, [at(a, "nn.Linear(2*p, 100)")], [at(b, "nn.Conv2d(2*p, out_feature, 1)")])
        is None
    )
    for seed in range(20):
        child = crossover(a, b, random.Random(seed))
        assert child is None or "Conv2d" not in child.source


def test_a_linear_layer_lands_in_a_convolutional_forward_pass_only_where_repair_can_flatten():
    a, b = Genome.parse(ATTRIBUTE_NET), Genome.parse(TANH_NET)
    # conv1 feeds F.max_pool2d in forward: no Flatten can be put before a Linear there
    assert (
        transplant(a, b, [at(a, "nn.Conv2d(1, 8, 3, padding=1)")], [at(b, "nn.Linear(2*p, 100)")])
        is None
    )
    # in a `layers.append` stack the repair step inserts the Flatten (the seed example)
    c = Genome.parse(COLOR_NET)
    assert transplant(
        c, b, [at(c, "nn.Conv2d(1, 2*p, 3, padding=1)")], [at(b, "nn.Linear(2*p, 100)")]
    )
