"""A variant's changes: one phrase per changed line of its diff against the user's network."""

from __future__ import annotations

import difflib
import random

import pytest

from genome_support import NETWORKS, src
from nnevolve.changes import diff_changes, source_lines, variant_changes
from nnevolve.gene_pool import GenePool
from nnevolve.genome import Genome
from nnevolve.operators import crossover, mutate

NET = src(
    """
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.drop = nn.Dropout(0.25)
            self.fc1 = nn.Linear(8 * 4 * 4, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = self.drop(x.flatten(1))
            x = F.relu(self.fc1(x))
            return self.fc2(x)
    """
)


def edited(source: str, *edits: tuple[int, str | None]) -> str:
    """`source` with 1-based lines replaced (text) or deleted (None), bottom up."""
    lines = source.splitlines()
    for line, text in sorted(edits, reverse=True):
        if text is None:
            del lines[line - 1]
        else:
            lines[line - 1] = text
    return "\n".join(lines) + "\n"


def test_layer_lines_are_put_in_words() -> None:
    variant = edited(NET, (8, "        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)"),
                     (16, "        x = F.silu(self.fc1(x))"), (9, None))
    assert variant_changes(NET, variant) == [
        "line 8: Conv2d out_channels 8→16",
        "line 9: delete self.drop = nn.Dropout(0.25)",
        "line 16: F.relu → F.silu",
    ]


def test_an_argument_added_or_spelled_out_is_named() -> None:
    variant = edited(NET, (11, "        self.fc2 = nn.Linear(32, 10, bias=False)"),
                     (10, "        self.fc1 = nn.Linear(128, 32)"))
    assert variant_changes(NET, variant) == [
        "line 10: Linear in_features 8 * 4 * 4 → 128",
        "line 11: Linear bias default→False",
    ]


def test_an_inserted_line_is_numbered_in_the_variant_and_quoted() -> None:
    lines = NET.splitlines()
    variant = "\n".join([*lines[:8], "        self.act = nn.ReLU()", *lines[8:]]) + "\n"
    assert variant_changes(NET, variant) == ["line 9: insert self.act = nn.ReLU()"]


def test_other_lines_show_the_text_that_changed() -> None:
    variant = edited(NET, (15, "        x = self.drop(x.flatten(2))"))
    assert variant_changes(NET, variant) == ["line 15: 1 → 2"]
    assert variant_changes(NET, NET) == []


def test_the_net_difference_is_shown_not_the_edits_that_led_there() -> None:
    there = edited(NET, (16, "        x = torch.tanh(self.fc1(x))"))
    back = edited(there, (16, "        x = F.relu(self.fc1(x))"), (8, "        self.conv1 = "
                                                                   "nn.Conv2d(1, 8, 5, padding=1)"))
    assert variant_changes(NET, back) == ["line 8: Conv2d kernel_size 3→5"]


def _expected_lines(base: str, variant: str) -> list[tuple[str, int, int | None]]:
    """(kind, line, variant's line) of each changed line, read off difflib's opcodes."""
    a, b = source_lines(base), source_lines(variant)
    expected = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1)
        expected += [("replace", i1 + k + 1, j1 + k + 1) for k in range(paired)]
        expected += [("delete", i + 1, None) for i in range(i1 + paired, i2)]
        expected += [("insert", j + 1, j + 1) for j in range(j1 + paired, j2)]
    return expected


def _operator_variants() -> list[tuple[str, str]]:
    """(base, variant) pairs bred by the operators: chains of mutations and crossovers."""
    pool = GenePool()
    pool.add_catalog()
    for name, source in NETWORKS.items():
        pool.harvest_source(source, name)
    pairs = []
    genomes = {name: Genome.parse(source) for name, source in NETWORKS.items()}
    for name, genome in genomes.items():
        for seed in range(4):
            rng = random.Random(f"{name}:{seed}")
            current = genome
            for _ in range(3):  # a lineage of three edits; its net change is what is shown
                child = mutate(current, rng, pool)
                if child is None:
                    break
                current = Genome.parse(child.source, genome.class_name)
            if current is not genome:
                pairs.append((genome.source, current.source))
        for other in genomes.values():
            if other is not genome:
                child = crossover(genome, other, random.Random(name))
                if child is not None:
                    pairs.append((genome.source, child.source))
    pool.close()
    return pairs


@pytest.mark.parametrize(("base", "variant"), _operator_variants())
def test_each_phrase_of_an_operator_made_variant_matches_its_diff(base: str, variant: str) -> None:
    changes = diff_changes(base, variant)
    assert [(c.kind, c.line, c.new_line) for c in changes] == _expected_lines(base, variant)
    old_lines, new_lines = source_lines(base), source_lines(variant)
    for change in changes:
        assert change.phrase.startswith(f"line {change.line}: ")
        if change.kind == "replace":
            assert change.new_line is not None
            assert change.old and change.new and change.old != change.new
            assert change.old.rstrip("…") in old_lines[change.line - 1]
            assert change.new.rstrip("…") in new_lines[change.new_line - 1]
        elif change.kind == "delete":
            assert change.old == old_lines[change.line - 1].strip()
            assert change.phrase.startswith(f"line {change.line}: delete ")
        else:
            assert change.new == new_lines[change.line - 1].strip()
            assert change.phrase.startswith(f"line {change.line}: insert ")
