"""Replacement, before → after: a line gives way to a gene-pool line of the same type."""

from __future__ import annotations

import random

from genome_support import ATTRIBUTE_NET, COLOR_NET, MLP_NET, SEQUENTIAL_NET, at, changed_lines
from nnevolve.gene_pool import Gene, GenePool
from nnevolve.genome import Genome
from nnevolve.operators import replace
from nnevolve.operators.replace import canonical_code, replace_site


def catalog() -> GenePool:
    pool = GenePool()
    pool.add_catalog()
    return pool


def test_an_appended_activation_is_replaced_in_place():
    genome = Genome.parse(COLOR_NET)
    child = replace_site(
        genome, at(genome, "nn.ReLU()", 1), Gene("nn.GELU()", "activation", "catalog")
    )
    assert child is not None
    assert changed_lines(COLOR_NET, child.source) == (
        ["        layers.append(nn.ReLU())                            # activation function"],
        ["        layers.append(nn.GELU())                            # activation function"],
    )
    assert child.edits[0].summary == "replace nn.ReLU() by nn.GELU() at line 13"


def test_a_replacement_is_spelled_like_the_receiving_file():
    genome = Genome.parse(MLP_NET)  # writes torch.nn.X everywhere
    child = replace_site(
        genome, at(genome, "torch.nn.Dropout(0.2)"), Gene("nn.Dropout(0.5)", "dropout", "t")
    )
    assert child is not None
    assert changed_lines(MLP_NET, child.source)[1] == ["            torch.nn.Dropout(0.5),"]


def test_a_functional_call_keeps_its_tensor_argument():
    genome = Genome.parse(ATTRIBUTE_NET)
    child = replace_site(
        genome, at(genome, "F.relu(self.fc1(x))"), Gene("torch.tanh(x)", "activation", "t")
    )
    assert child is not None
    assert changed_lines(ATTRIBUTE_NET, child.source) == (
        ["        x = F.relu(self.fc1(x))"],
        ["        x = torch.tanh(self.fc1(x))"],
    )


def test_a_gene_of_another_type_or_form_is_refused():
    genome = Genome.parse(ATTRIBUTE_NET)
    relu = at(genome, "F.relu(self.fc1(x))")
    assert replace_site(genome, relu, Gene("nn.Dropout(0.5)", "dropout", "t")) is None
    assert replace_site(genome, relu, Gene("nn.GELU()", "activation", "t")) is None


def test_replacements_work_on_the_same_data_and_spare_the_output_layer():
    pool = catalog()
    genome = Genome.parse(SEQUENTIAL_NET)
    output = genome.output_site()
    seen = set()
    for seed in range(40):
        child = replace(genome, random.Random(seed), pool)
        assert child is not None
        removed, added = changed_lines(SEQUENTIAL_NET, child.source)
        assert output.code not in child.edits[0].summary.split(" by ")[0]
        seen.add(child.edits[0].summary)
        if "Conv2d(1, 16" in removed[0]:
            # a 2-d convolution is only replaced by a 2-d convolution
            assert "nn.Conv2d(" in added[0] and "Conv2d(1, 16, 3, padding=1)" not in added[0]
        if "nn.Linear(16 * 4 * 4, 32)" in removed[0]:
            assert "nn.Linear(" in added[0] and "Conv" not in added[0]
    assert len(seen) >= 10


def test_the_current_line_is_never_drawn_again():
    genome = Genome.parse(ATTRIBUTE_NET)
    site = at(genome, "nn.Dropout(0.25)")
    assert canonical_code(genome, site) == "nn.Dropout(0.25)"
    assert canonical_code(genome, at(genome, "F.relu(self.fc1(x))")) == "F.relu(x)"
    pool = GenePool()
    pool.add("nn.Dropout(0.25)", "dropout", "test")
    pool.add("F.relu(x)", "activation", "test")
    # the only genes are the lines already there, so nothing can change
    assert replace(genome, random.Random(0), pool) is None


def test_replace_is_deterministic_for_a_seed():
    pool = catalog()
    genome = Genome.parse(ATTRIBUTE_NET)
    assert [replace(genome, random.Random(s), pool) for s in range(10)] == [
        replace(genome, random.Random(s), pool) for s in range(10)
    ]
