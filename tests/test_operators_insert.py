"""Insertion, before → after: a gene-pool line lands at a legal position."""

from __future__ import annotations

import random

from genome_support import (
    ATTRIBUTE_NET,
    COLOR_NET,
    NETWORKS,
    SEQUENTIAL_NET,
    TANH_NET,
    changed_lines,
    src,
)
from nnevolve.gene_pool import Gene, GenePool
from nnevolve.genome import Genome
from nnevolve.operators import Offspring, insert
from nnevolve.operators.insert import InsertionPoint, insert_at, insertion_points


def gene(code: str, type_: str) -> Gene:
    return Gene(code, type_, "test")


def point(
    genome: Genome, line: int, *, after: bool = True, code: str | None = None
) -> InsertionPoint:
    """The insertion point next to the site at ``line`` (and with ``code`` when given)."""
    return next(
        p
        for p in insertion_points(genome)
        if p.after == after
        and (
            p.statement is not None
            and genome.line_of(p.statement) == line
            or p.site.line == line
            and p.statement is None
        )
        and (code is None or p.site.code == code)
    )


def inserted(source: str, line: int, code: str, type_: str, *, after: bool = True,
             at: str | None = None) -> Offspring:
    """``source`` with the gene ``code`` inserted next to the site at ``line`` (the one whose
    code is ``at`` when given)."""
    genome = Genome.parse(source)
    child = insert_at(genome, point(genome, line, after=after, code=at), gene(code, type_))
    assert child is not None
    return child


def test_a_new_append_statement_goes_after_the_line_in_the_same_list():
    child = inserted(COLOR_NET, 12, "nn.BatchNorm2d(16)", "normalization")
    # the new line copies neither the comment nor anything but the list name
    assert child.source == COLOR_NET.replace(
        "        layers.append(nn.Conv2d(2*p, out_feature, 1))      # connection layer\n",
        "        layers.append(nn.Conv2d(2*p, out_feature, 1))      # connection layer\n"
        "        layers.append(nn.BatchNorm2d(16))\n",
    )
    assert child.edits[0].summary == "insert nn.BatchNorm2d(16) after line 12"


def test_the_first_layer_of_a_list_can_get_a_line_before_it():
    child = inserted(TANH_NET, 10, "nn.Dropout(0.1)", "dropout", after=False)
    assert changed_lines(TANH_NET, child.source) == (
        [],
        ["        slayers.append(nn.Dropout(0.1))"],
    )
    assert child.source.index("nn.Dropout(0.1)") < child.source.index("nn.Flatten()")


def test_an_element_joins_a_multi_line_sequential_in_its_style():
    child = inserted(SEQUENTIAL_NET, 9, "nn.Dropout2d(0.1)", "dropout", at="nn.BatchNorm2d(16)")
    assert child.source == SEQUENTIAL_NET.replace(
        "            nn.BatchNorm2d(16),\n",
        "            nn.BatchNorm2d(16),\n            nn.Dropout2d(0.1),\n",
    )
    assert child.edits[0].summary == "insert nn.Dropout2d(0.1) after nn.BatchNorm2d(16) at line 9"


def test_an_element_after_the_last_one_keeps_the_comment_and_trailing_comma():
    child = inserted(SEQUENTIAL_NET, 11, "nn.Dropout2d(0.1)", "dropout", at="nn.MaxPool2d(2)")
    assert child.source == SEQUENTIAL_NET.replace(
        "            nn.MaxPool2d(2),  # 8x8 -> 4x4\n",
        "            nn.MaxPool2d(2),  # 8x8 -> 4x4\n            nn.Dropout2d(0.1),\n",
    )


def test_an_element_joins_a_one_line_sequential():
    child = inserted(SEQUENTIAL_NET, 13, "nn.Dropout(0.25)", "dropout",
                     at="nn.Linear(16 * 4 * 4, 32)")
    assert changed_lines(SEQUENTIAL_NET, child.source)[1] == [
        (
            "        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * 4 * 4, 32), nn.Dropout(0.25),"
            " nn.ReLU(), nn.Linear(32, 10))"
        )
    ]


def test_a_functional_activation_goes_after_a_forward_statement():
    child = inserted(ATTRIBUTE_NET, 21, "F.leaky_relu(x, 0.1)", "activation")
    assert child.source == ATTRIBUTE_NET.replace(
        "        x = self.drop(x)\n",
        "        x = self.drop(x)\n        x = F.leaky_relu(x, 0.1)\n",
    )
    assert child.edits[0].summary == "insert F.leaky_relu(x, 0.1) after line 21"


def test_a_layer_in_attribute_style_becomes_a_new_attribute_and_its_use():
    child = inserted(ATTRIBUTE_NET, 19, "nn.BatchNorm2d(16)", "normalization")
    assert child.source == ATTRIBUTE_NET.replace(
        "        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)\n",
        "        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)\n        self.norm1 = nn.BatchNorm2d(16)\n",
    ).replace(
        "        x = F.max_pool2d(F.relu(self.conv2(x)), 2)\n",
        "        x = F.max_pool2d(F.relu(self.conv2(x)), 2)\n        x = self.norm1(x)\n",
    )
    assert child.edits[0].summary == "insert self.norm1 = nn.BatchNorm2d(16) after line 19"


def test_a_functional_gene_uses_the_files_spelling_or_brings_its_import():
    with_nn = src(
        """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(64, 32)
                self.fc2 = nn.Linear(32, 10)

            def forward(self, x):
                x = self.fc1(x)
                return self.fc2(x)
        """
    )
    child = inserted(with_nn, 11, "F.relu(x)", "activation")
    # torch.nn.functional is reachable as nn.functional: no new import
    assert child.source == with_nn.replace(
        "        x = self.fc1(x)\n", "        x = self.fc1(x)\n        x = nn.functional.relu(x)\n"
    )
    bare = (
        with_nn.replace("import torch.nn as nn\n", "from torch.nn import Linear, Module\n")
        .replace("nn.Module", "Module")
        .replace("nn.Linear", "Linear")
    )
    child = inserted(bare, 11, "F.relu(x)", "activation")
    assert child.source == bare.replace(
        "from torch.nn import Linear, Module\n",
        "from torch.nn import Linear, Module\nimport torch.nn.functional as F\n",
    ).replace("        x = self.fc1(x)\n", "        x = self.fc1(x)\n        x = F.relu(x)\n")


def test_nothing_is_inserted_after_the_output_layer():
    for source in NETWORKS.values():
        genome = Genome.parse(source)
        output = genome.output_site()
        output_flow = genome.anchor(output).flow
        for p in insertion_points(genome):
            assert not (p.after and p.site == output)
            assert genome.anchor(p.site).flow < output_flow or not p.after
    # AttributeNet's last point is after `x = F.relu(self.fc1(x))`, not after `return self.fc2(x)`
    attribute = Genome.parse(ATTRIBUTE_NET)
    assert max(attribute.line_of(p.statement) for p in insertion_points(attribute)) == 22


def test_inserted_layers_fit_the_data_at_their_position():
    pool = GenePool()
    pool.add_catalog()
    genome = Genome.parse(COLOR_NET)  # a stack of 2-d convolutions
    for seed in range(30):
        child = insert(genome, random.Random(seed), pool)
        assert child is not None
        added = changed_lines(COLOR_NET, child.source)[1]
        assert len(added) == 1 and added[0].strip().startswith("layers.append(nn.")
        assert not any(flat in added[0] for flat in ("Linear", "BatchNorm1d", "Conv1d"))
    mlp = Genome.parse(TANH_NET)  # flat features after its Flatten
    for seed in range(30):
        child = insert(mlp, random.Random(seed), pool)
        assert child is not None
        added = changed_lines(TANH_NET, child.source)[1][0]
        lines = child.source.splitlines()
        after_flatten = lines.index(added) > lines.index("        slayers.append(nn.Flatten())")
        assert not (after_flatten and "2d" in added), added


def test_insert_is_deterministic_for_a_seed():
    pool = GenePool()
    pool.add_catalog()
    genome = Genome.parse(ATTRIBUTE_NET)
    first = [insert(genome, random.Random(seed), pool) for seed in range(10)]
    second = [insert(genome, random.Random(seed), pool) for seed in range(10)]
    assert first == second
    assert len({c.source for c in first if c is not None}) >= 5


def test_an_empty_gene_pool_inserts_nothing():
    assert insert(Genome.parse(COLOR_NET), random.Random(0), GenePool()) is None


def test_comments_stay_on_their_line_when_a_sequential_without_trailing_comma_grows():
    source = src(
        """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.features = nn.Sequential(
                    nn.Conv2d(1, 8, 3),  # conv
                    nn.ReLU()  # act
                )
                self.head = nn.Sequential(nn.Flatten(), nn.Linear(288, 10))

            def forward(self, x):
                return self.head(self.features(x))
        """
    )
    child = inserted(source, 9, "nn.Dropout(0.1)", "dropout", at="nn.ReLU()")
    assert child.source == source.replace(
        "            nn.ReLU()  # act\n",
        "            nn.ReLU(),  # act\n            nn.Dropout(0.1)\n",
    )


NESTED_FCN = src(
    """
    from torch import nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.flatten = nn.Flatten()
            self.hidden = nn.Linear(64, 32)
            self.act = nn.Tanh()
            self.out = nn.Linear(32, num_classes)

        def forward(self, x):
            return self.out(self.act(self.hidden(self.flatten(x))))
    """
)


def test_a_forward_written_as_one_expression_takes_a_layer_around_a_nested_call():
    genome = Genome.parse(NESTED_FCN)
    wraps = [p for p in insertion_points(genome) if p.style == "wrap"]
    assert {p.site.container for p in wraps} == {"flatten", "hidden", "act"}  # not the output
    around_hidden = next(p for p in wraps if p.site.container == "hidden")
    child = insert_at(genome, around_hidden, gene("nn.Dropout(0.2)", "dropout"))
    assert child is not None
    assert "        self.drop1 = nn.Dropout(0.2)\n" in child.source
    assert "return self.out(self.act(self.drop1(self.hidden(self.flatten(x)))))" in child.source
    assert child.edits[0].summary == (
        "insert self.drop1 = nn.Dropout(0.2) after self.hidden at line 14")
    functional = insert_at(genome, around_hidden,
                           gene("F.relu(x)", "activation"))
    assert functional is not None
    assert "return self.out(self.act(F.relu(self.hidden(self.flatten(x)))))" in functional.source


FCN_BY_STATEMENT = NESTED_FCN.replace(
    "        return self.out(self.act(self.hidden(self.flatten(x))))\n",
    "        x = self.flatten(x)\n        x = self.act(self.hidden(x))\n        return self.out(x)\n")


def test_a_layer_can_go_before_forwards_first_statement_and_see_the_input_shape():
    from nnevolve.repair import repair

    genome = Genome.parse(FCN_BY_STATEMENT)
    (first,) = [p for p in insertion_points(genome) if not p.after and p.style == "forward"]
    assert genome.line_of(first.statement) == 14 and first.context is None  # before the flatten
    child = insert_at(genome, first, gene("nn.Conv2d(1, 8, 3, padding=1)", "connection"))
    assert child is not None
    assert "        x = self.layer1(x)\n        x = self.flatten(x)\n" in child.source
    assert child.edits[0].summary.startswith("insert self.layer1 = nn.Conv2d(1, 8, 3, padding=1) "
                                              "before line 14")
    fitted = repair(child.source, "Net", (1, 8, 8), 10)  # the Linear after it is widened
    assert fitted.ok, fitted.reason


BRANCH_NET = '''import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(planes, planes, 3, padding=1)
        self.act = nn.ReLU()
        if stride != 1:
            self.act = nn.ReLU6()

    def forward(self, x):
        out = self.act(self.conv1(x))
        out = F.relu(out + x)
        return out


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = Block(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.block(self.stem(x))
        return self.fc(x.mean((2, 3)))
'''


def test_a_new_attribute_is_registered_in_its_forwards_class_outside_any_if():
    # after `out = F.relu(out + x)` (no attribute) and after `self.act(...)` (an attribute
    # last registered inside the `if`): either way at the top level of the block class's
    # __init__, after the `if`, so that every instance of the block has it
    for line in (14, 15):
        child = inserted(BRANCH_NET, line, "nn.BatchNorm2d(8)", "normalization")
        assert "            self.act = nn.ReLU6()\n        self.norm1 = nn.BatchNorm2d(8)\n" \
            in child.source
        assert child.source.count("self.norm1 = ") == 1
