"""Block replacement: a run of layers gives way to a block of the gene pool, with the run's
widths and downsampling, so the network builds and its head sees the same feature map."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from torch import nn

from genome_support import SEQUENTIAL_NET, changed_lines
from nnevolve.evaluation.train import build_model
from nnevolve.gene_pool import GenePool
from nnevolve.gene_pool.pool import Block
from nnevolve.genome import Genome
from nnevolve.operators.replace_block import adapted_block, layer_runs, replace_block, replace_run
from nnevolve.repair import repair
from repair_support import head_input, trains

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
# classic files of the samples, each with its model expression
CLASSIC = [("vgg_cfg.py", "VGG11"), ("convnet_small.py", "SmallConvNet"),
           ("layers_append.py", "AppendNet"), ("resnet_blocks.py", "ResNet8"), ("fcn.py", "FCN")]
BLOCKS = [
    # AlexNet's stem: an 11x11 stride-4 convolution and a 3/2 max-pool (no 8x8 image survives)
    Block(("nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2)", "nn.ReLU(inplace=True)",
           "nn.MaxPool2d(kernel_size=3, stride=2)"), "zoo:torchvision alexnet.py"),
    Block(("nn.Conv2d(32, 16, 1, padding=0, stride=1, bias=False)", "nn.BatchNorm2d(16)"),
          "zoo:torchvision mnasnet.py"),
    Block(("nn.Conv2d(64, 32, kernel_size=5, padding=2)", "nn.BatchNorm2d(32)", "nn.SiLU()",
           "nn.AvgPool2d(2)"), "models/mine.py"),
    Block(("nn.Linear(512 * 7 * 7, 4096)", "nn.ReLU(True)", "nn.Dropout(p=0.5)"),
          "zoo:torchvision vgg.py"),
]


@pytest.mark.parametrize(("name", "model"), CLASSIC)
def test_every_replacement_builds_with_the_same_shape_at_the_head(name: str, model: str) -> None:
    source = (SAMPLES / name).read_text()
    g = Genome.parse(source, model)
    before = head_input(build_model(source, model))
    runs = layer_runs(g)
    assert runs
    children = [replace_run(g, run, block) for run in runs for block in BLOCKS]
    children = [c for c in children if c is not None]
    assert children
    trainable = 0
    for child in children:
        fixed = repair(child.source, model, (1, 8, 8), 10)
        if not fixed.ok:  # refused only where training fails (an in-place `+=` after a ReLU)
            assert fixed.reason.startswith("training would fail"), (child.edits, fixed.reason)
            assert not trains(build_model(child.source, model))
            continue
        trainable += 1
        # the run's widths are kept: nothing for the repair to fix
        assert fixed.fixes == (), (child.edits, fixed.reason, fixed.fixes)
        assert head_input(build_model(child.source, model)) == before, child.edits
    assert trainable


def test_a_block_takes_the_runs_widths_stride_and_pooling() -> None:
    g = Genome.parse((SAMPLES / "convnet_small.py").read_text(), "SmallConvNet")
    [conv_run, _] = layer_runs(g)
    assert [s.line for s in conv_run.sites] == [12, 18, 13]  # conv1, F.relu, pool
    # AlexNet's stem downsamples 8x8 to nothing: it keeps its norm-free look but takes the
    # run's stride, a padding that keeps the size and the run's pooling
    assert adapted_block(conv_run, BLOCKS[0]) == [
        "nn.Conv2d(1, 8, kernel_size=11, padding=5)", "nn.ReLU(inplace=True)", "nn.MaxPool2d(2)"]
    # a block that maps every size as the run does is kept as it is, widths aside
    assert adapted_block(conv_run, BLOCKS[2]) == [
        "nn.Conv2d(1, 8, kernel_size=5, padding=2)", "nn.BatchNorm2d(8)", "nn.SiLU()",
        "nn.AvgPool2d(2)"]


def test_an_attribute_run_becomes_one_sequential_and_the_others_go_with_their_uses() -> None:
    source = (SAMPLES / "convnet_small.py").read_text()
    g = Genome.parse(source, "SmallConvNet")
    child = replace_run(g, layer_runs(g)[0], BLOCKS[2])
    assert child is not None
    removed, added = changed_lines(source, child.source)
    assert [line.strip() for line in added] == [
        "self.conv1 = nn.Sequential(nn.Conv2d(1, 8, kernel_size=5, padding=2), "
        "nn.BatchNorm2d(8), nn.SiLU(), nn.AvgPool2d(2))  # block from models/mine.py",
        "x = self.conv1(x)"]
    assert "self.pool = nn.MaxPool2d(2)" in [line.strip() for line in removed]
    assert child.edits[0].summary == (
        "replace nn.Conv2d(1, 8, 3, padding=1) → F.relu → nn.MaxPool2d(2) at line 12 by "
        "nn.Conv2d(1, 8, kernel_size=5, padding=2) → nn.BatchNorm2d(8) → nn.SiLU() → "
        "nn.AvgPool2d(2) (block from models/mine.py)")


def test_a_symbolic_stride_is_kept_in_a_block_class_built_many_times() -> None:
    source = (SAMPLES / "resnet_blocks.py").read_text()
    g = Genome.parse(source, "ResNet8")
    run = next(r for r in layer_runs(g) if r.sites[0].line == 20)  # BasicBlock.conv1 → bn1
    assert adapted_block(run, BLOCKS[0])[0] == (
        "nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1)")


def test_a_replacement_that_computes_the_same_is_not_offered() -> None:
    g = Genome.parse((SAMPLES / "fcn.py").read_text(), "FCN")
    same = Block(("nn.Linear(10, 20)", "nn.ReLU(inplace=True)", "nn.Dropout(0.2)"), "catalog")
    first, second = layer_runs(g)  # Linear → ReLU → Dropout(0.2), Linear → ReLU
    assert replace_run(g, first, same) is None
    assert replace_run(g, second, same) is not None  # it adds a dropout


def test_the_operator_draws_blocks_of_the_runs_kind(tmp_path: Path) -> None:
    with GenePool() as pool:
        pool.add_blocks([(b.codes, b.origin) for b in BLOCKS])
        g = Genome.parse((SAMPLES / "vgg_cfg.py").read_text(), "VGG11")
        children = [replace_block(g, random.Random(seed), pool) for seed in range(10)]
    summaries = {c.edits[0].summary for c in children if c is not None}
    assert summaries and all(s.startswith("replace nn.Conv2d(in_channels, x") for s in summaries)
    assert not any("Linear" in s for s in summaries)  # a conv run is given conv blocks


def _replaced(name: str, model: str, first_line: int, block: Block) -> str:
    g = Genome.parse((SAMPLES / name).read_text(), model)
    run = next(r for r in layer_runs(g) if r.sites[0].line == first_line)
    child = replace_run(g, run, block)
    assert child is not None
    return child.source


def test_a_replaced_block_says_where_it_comes_from_on_its_first_line() -> None:
    # in a literal over several lines (which stays so), in place of the first layer's comment
    assert ("                layers += [nn.Conv2d(in_channels, x, kernel_size=11, padding=5),"
            "  # block from torchvision alexnet.py\n"
            "                           nn.ReLU(inplace=True)]\n"
            ) in _replaced("vgg_cfg.py", "VGG11", 38, BLOCKS[0])
    lines = _replaced("layers_append.py", "AppendNet", 11, BLOCKS[2]).splitlines()
    assert [line.strip() for line in lines[10:13]] == [  # in place of `# connection layer`
        "layers.append(nn.Conv2d(in_channels, hidden, kernel_size=5, padding=2))"
        "  # block from models/mine.py",
        "layers.append(nn.BatchNorm2d(hidden))", "layers.append(nn.SiLU())"]
    # none where the literal is one line (a comment would end the statement's line), nor for
    # a block of no origin
    g = Genome.parse(SEQUENTIAL_NET)
    run = next(r for r in layer_runs(g) if "Linear" in r.sites[0].code)
    child = replace_run(g, run, BLOCKS[3])
    assert child is not None and "nn.Dropout(p=0.5)" in child.source
    assert "# block" not in child.source
    nameless = Block(BLOCKS[2].codes, "")
    assert "# block" not in _replaced("layers_append.py", "AppendNet", 11, nameless)
