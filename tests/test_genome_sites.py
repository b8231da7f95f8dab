"""Genome.parse: the typed sites of a model class that the operators may edit."""

from __future__ import annotations

import time

import pytest

from genome_support import ATTRIBUTE_NET, COLOR_NET, MLP_NET, SEQUENTIAL_NET, src
from nnevolve.genome import Genome, GenomeError


def summary(genome: Genome) -> list[tuple[str, str, str, str, int]]:
    return [(s.kind, s.type, s.code, s.container, s.line) for s in genome.sites]


def test_append_statements_are_sites_of_their_list():
    genome = Genome.parse(COLOR_NET)
    assert genome.class_name == "ColorNet"
    assert summary(genome) == [
        ("append", "connection", "nn.Conv2d(1, 2*p, 3, padding=1)", "layers", 9),
        ("append", "activation", "nn.ReLU()", "layers", 10),
        ("append", "connection", "nn.Conv2d(2*p, out_feature, 1)", "layers", 12),
        ("append", "activation", "nn.ReLU()", "layers", 13),
        ("append", "connection", "nn.Conv2d(out_feature, out_feature, 1)", "layers", 14),
        ("append", "activation", "nn.ReLU()", "layers", 15),
        ("append", "connection", "nn.Conv2d(out_feature, 3*bin_num, 1)", "layers", 16),
    ]
    assert [s.index for s in genome.sites] == list(range(7))
    assert genome.sites[0].name == "torch.nn.Conv2d"


def test_attributes_come_with_their_uses_and_forward_calls_are_sites():
    genome = Genome.parse(ATTRIBUTE_NET)
    assert summary(genome) == [
        ("attribute", "connection", "nn.Conv2d(1, 8, 3, padding=1)", "conv1", 11),
        ("attribute", "connection", "nn.Conv2d(8, 16, 3, padding=1)", "conv2", 12),
        ("attribute", "dropout", "nn.Dropout(0.25)", "drop", 13),
        ("attribute", "connection", "nn.Linear(16 * 2 * 2, 64)", "fc1", 14),
        ("attribute", "connection", "nn.Linear(64, num_classes)", "fc2", 15),
        ("forward_call", "pooling", "F.max_pool2d(F.relu(self.conv1(x)), 2)", "forward", 18),
        ("forward_call", "activation", "F.relu(self.conv1(x))", "forward", 18),
        ("forward_call", "pooling", "F.max_pool2d(F.relu(self.conv2(x)), 2)", "forward", 19),
        ("forward_call", "activation", "F.relu(self.conv2(x))", "forward", 19),
        ("forward_call", "reshape", "torch.flatten(x, 1)", "forward", 20),
        ("forward_call", "activation", "F.relu(self.fc1(x))", "forward", 22),
    ]
    uses = {s.container: s.uses for s in genome.sites if s.kind == "attribute"}
    assert uses == {"conv1": (18,), "conv2": (19,), "drop": (21,), "fc1": (22,), "fc2": (23,)}


def test_sequential_and_module_list_elements_are_sites_of_their_owner():
    genome = Genome.parse(SEQUENTIAL_NET)
    assert [(s.kind, s.type, s.container) for s in genome.sites] == [
        ("sequential", "connection", "features"),
        ("sequential", "normalization", "features"),
        ("sequential", "activation", "features"),
        ("sequential", "pooling", "features"),
        ("sequential", "reshape", "classifier"),
        ("sequential", "connection", "classifier"),
        ("sequential", "activation", "classifier"),
        ("sequential", "connection", "classifier"),
    ]
    mlp = Genome.parse(MLP_NET)
    assert [(s.kind, s.code, s.container) for s in mlp.sites] == [
        ("sequential", "torch.nn.Linear(64, HIDDEN)", "layers"),
        ("sequential", "torch.nn.LeakyReLU(0.1)", "layers"),
        ("sequential", "torch.nn.Dropout(0.2)", "layers"),
        ("sequential", "torch.nn.Linear(HIDDEN, 10)", "layers"),
    ]


def test_flow_order_follows_the_forward_pass_and_finds_the_output_layer():
    genome = Genome.parse(ATTRIBUTE_NET)
    order = [
        s.container if s.kind == "attribute" else s.code.split("(")[0]
        for s in genome.in_flow_order()
    ]
    assert order == [
        "conv1",
        "F.relu",
        "F.max_pool2d",
        "conv2",
        "F.relu",
        "F.max_pool2d",
        "torch.flatten",
        "drop",
        "fc1",
        "F.relu",
        "fc2",
    ]
    assert genome.output_site().container == "fc2"
    # classifier(features(x)): the classifier's last Linear is the output, not source order
    sequential = Genome.parse(SEQUENTIAL_NET)
    assert sequential.output_site().code == "nn.Linear(32, 10)"


def test_layers_that_forward_never_uses_are_not_live():
    source = src(
        """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.unused = nn.Linear(4, 4)
                self.fc = nn.Linear(4, 2)

            def forward(self, x):
                return self.fc(x)
        """
    )
    genome = Genome.parse(source)
    assert [s.container for s in genome.sites] == ["unused", "fc"]
    assert [s.container for s in genome.live_sites()] == ["fc"]
    assert genome.output_site().container == "fc"


def test_a_class_can_be_chosen_by_name():
    source = (
        COLOR_NET
        + "\n\n"
        + src(
            """
        class Tiny(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)

            def forward(self, x):
                return self.fc(x)
        """
        )
    )
    assert Genome.parse(source).class_name == "Tiny"
    assert Genome.parse(source, "ColorNet").class_name == "ColorNet"


@pytest.mark.parametrize(
    "source, class_name, message",
    [
        ("def broken(:\n", None, "not valid Python"),
        ("import torch\nx = 1\n", None, "no nn.Module subclass that builds layers"),
        (
            COLOR_NET,
            "Missing",
            r"no model class 'Missing' \(models found: ColorNet\)",
        ),
    ],
)
def test_files_that_cannot_be_evolved_give_a_clear_error(source, class_name, message):
    with pytest.raises(GenomeError, match=message):
        Genome.parse(source, class_name)


def test_parsing_a_few_hundred_lines_is_fast():
    # twenty model classes of the attribute style, each ~20 lines
    body = "\n\n".join(
        ATTRIBUTE_NET.replace("AttributeNet", f"Net{i}").split("\n\n\n", 1)[1] for i in range(20)
    )
    source = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n" + body
    assert source.count("\n") > 400
    start = time.perf_counter()
    genome = Genome.parse(source)
    elapsed = time.perf_counter() - start
    assert genome.class_name == "Net19" and len(genome.sites) == 11
    assert elapsed < 1.0, f"Genome.parse took {elapsed:.2f} s"


def test_sites_after_wide_characters_on_the_same_line_are_found():
    source = src(
        """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(nn.Dropout(0.5 if "é" else 0.1), nn.Linear(4, 4))

            def forward(self, x):
                return self.net(x)
        """
    )
    assert [s.code for s in Genome.parse(source).sites] == [
        'nn.Dropout(0.5 if "é" else 0.1)',
        "nn.Linear(4, 4)",
    ]
