"""A variant's changes: one phrase per changed line of its diff against the user's network."""

from __future__ import annotations

import ast
import difflib
import random
import re
import textwrap
from pathlib import Path

import pytest

from genome_support import NETWORKS, SEQUENTIAL_NET, src
from nnevolve.changes import MAX_TEXT, Change, diff_changes, source_lines, variant_changes
from nnevolve.gene_pool import GenePool
from nnevolve.gene_pool.pool import Block
from nnevolve.gene_pool.residual import ResidualBlock, harvest_residual_blocks
from nnevolve.genome import Genome
from nnevolve.operators import crossover, mutate
from nnevolve.operators.insert import insertion_points
from nnevolve.operators.dimensions import fits
from nnevolve.operators.insert_block import block_points, insert_block_at
from nnevolve.operators.insert_residual import insert_residual_at
from nnevolve.operators.replace_block import layer_runs, replace_run

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


SMALL = (Path(__file__).resolve().parent.parent / "samples" / "convnet_small.py").read_text()
# torchvision's resnet.py as its layout goes: signatures and calls spread over several lines
RESNET = src(
    '''
    from typing import Callable, Optional

    import torch.nn as nn
    from torch import Tensor


    def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
        """3x3 convolution with padding"""
        return nn.Conv2d(
            in_planes,
            out_planes,
            kernel_size=3,
            stride=stride,
            padding=1,
            bias=False,
        )


    class BasicBlock(nn.Module):
        expansion: int = 1

        def __init__(
            self,
            inplanes: int,
            planes: int,
            stride: int = 1,
            norm_layer: Optional[Callable[..., nn.Module]] = None,
        ) -> None:
            super().__init__()
            norm_layer = norm_layer or nn.BatchNorm2d
            self.conv1 = conv3x3(inplanes, planes, stride)
            self.bn1 = norm_layer(planes)
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x: Tensor) -> Tensor:
            identity = x

            out = self.relu(self.bn1(self.conv1(x)))

            out += identity
            return self.relu(out)
    '''
)


def _transplant() -> tuple[str, str]:
    """convnet_small.py with torchvision's BasicBlock (and its conv3x3) after its convolution,
    as the gene pool's residual block operator builds it."""
    [(name, source, imports, expansion)] = harvest_residual_blocks(RESNET)
    block = ResidualBlock(name, source, imports, expansion, "zoo:torchvision resnet.py")
    genome = Genome.parse(SMALL)
    point = next(p for p in insertion_points(genome) if p.style == "forward"
                 and p.site.line == 13)
    child = insert_residual_at(genome, point, block)
    assert child is not None
    return SMALL, child.source


def test_a_transplanted_block_reads_as_its_definitions_and_where_they_come_from() -> None:
    base, variant = _transplant()
    assert variant_changes(base, variant) == [
        "lines 7–9: insert 3 imports (Tensor, Callable, Optional)",
        "lines 12–22: insert def conv3x3 (from torchvision resnet.py)",
        "lines 25–48: insert class BasicBlock (from torchvision resnet.py)",
        "line 56: insert self.block1 = BasicBlock(self.conv1.out_channels, self.conv…",
        "line 62: insert x = self.block1(x)",
    ]
    # taken away again, the definitions read the same way, numbered in the user's file
    assert variant_changes(variant, base)[:3] == [
        "lines 7–9: delete 3 imports (Tensor, Callable, Optional)",
        "lines 12–22: delete def conv3x3 (from torchvision resnet.py)",
        "lines 25–48: delete class BasicBlock (from torchvision resnet.py)",
    ]


BLOCKS = (
    Block(("nn.Conv2d(64, 128, kernel_size=3, padding=1)", "nn.BatchNorm2d(128)",
           "nn.ReLU(inplace=True)", "nn.MaxPool2d(2)"), "zoo:torchvision vgg.py"),
    Block(("nn.Linear(256, 128)", "nn.ReLU(inplace=True)", "nn.Dropout(0.5)"),
          "zoo:torchvision alexnet.py"),
)
VGG_LIKE = SEQUENTIAL_NET.replace("            nn.ReLU(),\n",
                                  "            nn.ReLU(inplace=True),\n            nn.MaxPool2d(2),\n"
                                  "            nn.Conv2d(16, 16, 3, padding=1),\n"
                                  "            nn.ReLU(inplace=True),\n")


def _block_children() -> list[tuple[str, str]]:
    """(base, variant) pairs: a zoo block inserted, as the block operator does, at each point
    of the sample networks where one fits."""
    pairs = []
    for source in [*NETWORKS.values(), VGG_LIKE]:
        genome = Genome.parse(source)
        for point in block_points(genome):
            for block in BLOCKS:
                if all(fits(code.split("(", 1)[0], point.context) for code in block.codes):
                    child = insert_block_at(genome, point, block)
                    if child is not None:
                        pairs.append((source, child.source))
    return pairs


def test_an_inserted_block_reads_as_one_phrase_with_where_it_comes_from() -> None:
    genome = Genome.parse(VGG_LIKE)
    # after the first ReLU: its own ReLU then repeats the line before it, and the diff could
    # as well place the run a line early (`ReLU, Conv, BN` inserted, the block's ReLU kept)
    point = next(p for p in block_points(genome) if p.site.line == 10)
    child = insert_block_at(genome, point, BLOCKS[0])
    assert child is not None
    assert "nn.Conv2d(16, 16, kernel_size=3, padding=1),  # block from torchvision vgg.py" \
        in child.source
    assert variant_changes(VGG_LIKE, child.source) == [
        "lines 11–13: insert block nn.Conv2d(16, 16, kernel_size=3, padding=1), "
        "nn.BatchNorm2d(16), nn.ReLU(inplace=True) (from torchvision vgg.py)"]
    assert variant_changes(child.source, VGG_LIKE) == [
        "lines 11–13: delete block nn.Conv2d(16, 16, kernel_size=3, padding=1), "
        "nn.BatchNorm2d(16), nn.ReLU(inplace=True) (from torchvision vgg.py)"]
    # a block of attributes: one phrase for their lines, the calls in forward one each
    genome = Genome.parse(NET)
    point = next(p for p in block_points(genome) if p.style == "forward" and p.site.line == 16)
    child = insert_block_at(genome, point, BLOCKS[1])
    assert child is not None
    assert variant_changes(NET, child.source) == [
        "lines 11–13: insert block nn.Linear(self.fc1.out_features, self.fc1.out_features), "
        "nn.ReLU(inplace=True), nn.Dropout(0.5) (from torchvision alexnet.py)",
        "line 20: insert x = self.fc3(x)", "line 21: insert x = self.act1(x)",
        "line 22: insert x = self.drop1(x)"]


# AlexNet's stem: in place of a run of 8x8 layers, it takes the run's widths and downsampling
ALEXNET = Block(("nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2)", "nn.ReLU(inplace=True)",
                 "nn.MaxPool2d(kernel_size=3, stride=2)"), "zoo:torchvision alexnet.py")


def _replace_block_children() -> list[tuple[str, str]]:
    """(base, variant) pairs: each run of the sample networks replaced by each zoo block that
    takes its place, as the block replacement operator does."""
    pairs = []
    for source in [*NETWORKS.values(), VGG_LIKE, SMALL, NET]:
        genome = Genome.parse(source)
        for run in layer_runs(genome):
            for block in (*BLOCKS, ALEXNET):
                child = replace_run(genome, run, block)
                if child is not None:
                    pairs.append((source, child.source))
    return pairs


def _replaced(source: str, first_line: int, block: Block) -> str:
    genome = Genome.parse(source)
    run = next(r for r in layer_runs(genome) if r.sites[0].line == first_line)
    child = replace_run(genome, run, block)
    assert child is not None
    return child.source


def test_a_block_in_place_of_the_users_layers_reads_as_one_phrase_with_where_it_comes_from(
) -> None:
    # a literal's elements: the block's lines from its first on, numbered in the user's file
    variant = _replaced(SEQUENTIAL_NET, 8, ALEXNET)
    assert variant_changes(SEQUENTIAL_NET, variant) == [
        "lines 8–11: replace nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), "
        "nn.MaxPool2d(2) by block nn.Conv2d(1, 16, kernel_size=11, padding=5), "
        "nn.ReLU(inplace=True), nn.MaxPool2d(2) (from torchvision alexnet.py)"]
    [change] = diff_changes(SEQUENTIAL_NET, variant)
    assert (change.kind, change.line, change.end_line, change.new_line,
            change.new_end_line) == ("replace", 8, 11, 8, 10)
    # `layers.append` statements
    variant = _replaced(NETWORKS["ColorNet"], 9, BLOCKS[0])
    assert variant_changes(NETWORKS["ColorNet"], variant) == [
        "lines 9–10: replace nn.Conv2d(1, 2*p, 3, padding=1), nn.ReLU() by block "
        "nn.Conv2d(1, 2 * p, kernel_size=3, padding=1), nn.BatchNorm2d(2 * p), "
        "nn.ReLU(inplace=True) (from torchvision vgg.py)"]
    # attributes: the run's become one holding the block, their uses in forward one change
    variant = _replaced(SMALL, 12, BLOCKS[0])
    assert variant_changes(SMALL, variant) == [
        "lines 12–13: replace nn.Conv2d(1, 8, 3, padding=1), nn.MaxPool2d(2) by block "
        "nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True), "
        "nn.MaxPool2d(2) (from torchvision vgg.py)",
        "line 18: self.pool(F.relu(self.conv1(x))) → self.conv1(x)"]
    # a line changed where a block the user applied earlier stands is no block in place
    mutated = variant.replace("nn.Conv2d(1, 8, kernel_size=3, padding=1)",
                              "nn.Conv2d(1, 8, kernel_size=5, padding=2)")
    assert variant_changes(variant, mutated) == ["line 12: Conv2d kernel_size 3→5, padding 1→2"]


def test_a_connection_layer_inserted_right_after_a_block_is_a_change_of_its_own() -> None:
    # a block is a connection layer and the normalization, activation, pooling and dropout
    # layers after it: the next Linear, inserted by another edit, is not the block's
    genome = Genome.parse(NET)
    point = next(p for p in block_points(genome) if p.style == "forward" and p.site.line == 16)
    child = insert_block_at(genome, point, BLOCKS[1])
    assert child is not None
    lines = child.source.splitlines(keepends=True)
    assert "nn.Dropout(0.5)" in lines[12]
    lines.insert(13, "        self.fc4 = nn.Linear(16, 16)\n")
    assert variant_changes(NET, "".join(lines))[:2] == [
        "lines 11–13: insert block nn.Linear(self.fc1.out_features, self.fc1.out_features), "
        "nn.ReLU(inplace=True), nn.Dropout(0.5) (from torchvision alexnet.py)",
        "line 14: insert self.fc4 = nn.Linear(16, 16)"]
    # in a list of layers too
    genome = Genome.parse(VGG_LIKE)
    point = next(p for p in block_points(genome) if p.site.line == 10)
    child = insert_block_at(genome, point, BLOCKS[0])
    assert child is not None
    lines = child.source.splitlines(keepends=True)
    assert "nn.ReLU(inplace=True)" in lines[12]
    lines.insert(13, "            nn.Conv2d(16, 16, 1),\n")
    assert variant_changes(VGG_LIKE, "".join(lines)) == [
        "lines 11–13: insert block nn.Conv2d(16, 16, kernel_size=3, padding=1), "
        "nn.BatchNorm2d(16), nn.ReLU(inplace=True) (from torchvision vgg.py)",
        "line 14: insert nn.Conv2d(16, 16, 1)"]


CONV = "        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)"  # line 8 of NET


def _spread(*arguments: str) -> str:
    """NET with conv1's call spread over one line per argument."""
    return NET.replace(CONV + "\n", "        self.conv1 = nn.Conv2d(\n" + "".join(
        f"            {argument},\n" for argument in arguments) + "        )\n")


def test_a_call_spread_over_several_lines_is_one_change_in_what_it_does() -> None:
    variant = _spread("1", "4", "kernel_size=3", "stride=1", "padding=1", "groups=1",
                      "bias=False", "dilation=1")
    # stride, groups and dilation are spelled out at torch's defaults: no change
    assert variant_changes(NET, variant) == [
        "line 8: Conv2d out_channels 8→4, bias default→False"]
    [change] = diff_changes(NET, variant)
    assert (change.line, change.end_line, change.new_line, change.new_end_line) == (8, 8, 8, 17)


def test_code_that_computes_what_it_did_is_no_change() -> None:
    assert variant_changes(NET, _spread("1", "8", "3", "padding=1")) == []
    assert variant_changes(NET, _spread("1", "8", "kernel_size=3", "stride=1", "padding=1",
                                        "bias=True")) == []
    spelled = NET.replace(CONV, "        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, stride=1)")
    assert variant_changes(NET, spelled) == []
    assert variant_changes(_spread("1", "8", "3", "padding=1"), _spread("1", "8", "3",
                                                                        "padding=2")) == [
        "line 12: Conv2d padding 1→2"]  # one argument's line of a spread call: that line


def test_other_statements_over_several_lines_are_one_phrase_and_blank_lines_none() -> None:
    lines = NET.splitlines()
    block = ["", "        if x.dim() > 2:", "            x = x.flatten(1)", ""]
    variant = "\n".join([*lines[:13], *block, *lines[13:]]) + "\n"
    assert variant_changes(NET, variant) == [
        "lines 15–16: insert if x.dim() > 2: x = x.flatten(1)"]
    one_blank = "\n".join([*lines[:13], "", *lines[13:]]) + "\n"
    assert variant_changes(NET, one_blank) == ["line 14: insert a blank line"]


def _outside(lines: list[str], spans: list[tuple[int, int]]) -> list[str]:
    """The non-blank lines outside `spans` (1-based, inclusive), their spacing ignored."""
    covered = {n for first, last in spans for n in range(first, last + 1)}
    return ["".join(line.split()) for n, line in enumerate(lines, 1)
            if n not in covered and line.strip()]


def _check_against_the_diff(base: str, variant: str, changes: list[Change]) -> None:
    """Each change names the lines it covers, and the code outside them is the same: every
    changed line of the diff is in a change (blank lines between statements may be in none)."""
    old_lines, new_lines = source_lines(base), source_lines(variant)
    old_spans = [(c.line, c.end_line) for c in changes if c.kind != "insert"]
    new_spans = [(c.new_line or 0, c.new_end_line or 0) for c in changes if c.kind != "delete"]
    for spans in (old_spans, new_spans):
        assert all(first <= last for first, last in spans)
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))  # in order, disjoint
    assert _outside(old_lines, old_spans) == _outside(new_lines, new_spans)
    # and no change covers only lines that a line diff finds the same
    old_changed, new_changed = set(), set()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            old_changed.update(range(i1 + 1, i2 + 1))
            new_changed.update(range(j1 + 1, j2 + 1))
    for change in changes:
        olds = set(range(change.line, change.end_line + 1)) if change.kind != "insert" else set()
        news = set(range(change.new_line or 0, (change.new_end_line or -1) + 1))
        assert olds & old_changed or news & new_changed, change
    for change in changes:
        first, last = ((change.new_line or 0, change.new_end_line or 0)
                       if change.kind == "insert" else (change.line, change.end_line))
        where = f"line {first}: " if first == last else f"lines {first}–{last}: "
        assert change.phrase.startswith(where) or (not change.phrase and change.kind == "replace")
        if change.kind == "replace":
            assert change.old and change.new
            new_first, new_last = change.new_line or 0, change.new_end_line or 0
            old_text = " ".join(" ".join(old_lines[change.line - 1:change.end_line]).split())
            new_text = " ".join(" ".join(new_lines[new_first - 1:new_last]).split())
            assert " ".join(change.old.rstrip("…").split()) in old_text
            assert " ".join(change.new.rstrip("…").split()) in new_text
            block = re.fullmatch(r"replace (.*) by block (.*) \((from .*)\)",
                                 change.phrase[len(where):])
            if block:  # the user's layers, then the block's, its first line saying where from
                olds, news, origin = block.groups()
                assert f"# block {origin}" in new_lines[new_first - 1]
                assert f"# block {origin}" not in old_lines[change.line - 1]
                for calls, text in ((olds, old_text), (news, new_text)):
                    assert all(call.rstrip("…") in text
                               for call in re.split(r"(?<=[)…]), ", calls))
            continue
        lines = old_lines if change.kind == "delete" else new_lines
        text = "\n".join(lines[first - 1:last]).strip()
        assert (change.old or change.new) == text and change.phrase.startswith(
            f"{where}{change.kind} ")
        words = change.phrase[len(f"{where}{change.kind} "):]
        if words.startswith(("def ", "class ")) or re.fullmatch(r"\d+ imports \(.*", words):
            code = ast.parse(textwrap.dedent("\n".join(lines[first - 1:last]))).body
        if words.startswith("block "):  # a block's layers, its first line saying where from
            calls, origin = re.fullmatch(r"block (.*) \((from .*)\)", words).groups()  # type: ignore[union-attr]
            assert f"# block {origin}" in lines[first - 1]
            assert all(call.rstrip("…") in " ".join(text.split())
                       for call in re.split(r"(?<=[)…]), ", calls))
        elif words.startswith(("def ", "class ")):  # a definition, with the comments that lead it
            word, name = words.split()[:2]
            assert len(code) == 1 and type(code[0]).__name__ == (
                "ClassDef" if word == "class" else "FunctionDef") and code[0].name == name
            origin = re.search(r" \((from .*)\)$", words)
            assert origin is None or f"# {origin.group(1)}\n" in text
        elif re.fullmatch(r"\d+ imports \(.*", words):
            assert all(isinstance(node, (ast.Import, ast.ImportFrom)) for node in code)
            assert words.startswith(f"{len(code)} imports")
        else:
            shown = " ".join(text.split()).removesuffix(",").rstrip() if first < last \
                else text.removesuffix(",").rstrip()
            assert words == (shown if len(shown) <= MAX_TEXT else shown[:MAX_TEXT - 1] + "…") \
                or (words == "a blank line" and not text)


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


@pytest.mark.parametrize(("base", "variant"), [*_operator_variants(), _transplant(),
                                               *_block_children(), *_replace_block_children()])
def test_each_phrase_of_an_operator_made_variant_matches_its_diff(base: str, variant: str) -> None:
    changes = diff_changes(base, variant)
    _check_against_the_diff(base, variant, changes)
