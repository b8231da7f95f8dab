"""Residual blocks as genes: self-contained residual classes harvested with their helpers and
imports, and inserted as a class added to the file and a call in the network that keeps the
channels and the size."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest
import torch
from torch import nn

from nnevolve.evaluation.train import build_model
from nnevolve.gene_pool import GenePool
from nnevolve.gene_pool.residual import ResidualBlock, harvest_residual_blocks
from nnevolve.gene_pool.zoo import zoo_files
from nnevolve.genome import Genome
from nnevolve.operators.insert import insertion_points
from nnevolve.operators.channels import channels_at
from nnevolve.operators.insert_residual import insert_residual, insert_residual_at, residual_points
from nnevolve.repair import repair
from repair_support import head_input

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

ZOO_RESNET = '''from typing import Callable, Optional

import torch.nn as nn
from torch import Tensor

from ..ops.misc import Conv2dNormActivation

WIDTH = 64


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class Residual(nn.Module):
    expansion: int = 2

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 norm_layer: Optional[Callable[..., nn.Module]] = None) -> None:
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.conv2 = conv3x3(planes, planes * self.expansion)
        self.bn2 = norm_layer(planes * self.expansion)

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
        return (out + x).relu()


class Inverted(nn.Module):  # needs the zoo's own package: left out
    def __init__(self, inp: int, oup: int, stride: int = 1) -> None:
        super().__init__()
        self.block = Conv2dNormActivation(inp, oup, stride=stride)

    def forward(self, x):
        return x + self.block(x)


class Wide(nn.Module):  # reads a module-level value: left out
    def __init__(self, inp: int, oup: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(inp, WIDTH, 3)

    def forward(self, x):
        return x + self.conv(x)


class Plain(nn.Module):  # no shortcut: not a residual block
    def __init__(self, inp: int, oup: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(inp, oup, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


class Strided(nn.Module):  # downsamples at its default stride: left out
    def __init__(self, inp: int, oup: int, stride: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(inp, oup, 3, stride=stride, padding=1)

    def forward(self, x):
        return x + self.conv(x)
'''


def _residual(origin: str = "zoo:fakezoo resnet.py") -> ResidualBlock:
    [(name, source, imports, expansion)] = harvest_residual_blocks(ZOO_RESNET)
    return ResidualBlock(name, source, imports, expansion, origin)


def test_a_residual_class_is_taken_with_its_helpers_and_imports_only_when_self_contained(
) -> None:
    block = _residual()
    assert (block.name, block.expansion) == ("Residual", 2)
    assert block.imports == ("from torch import Tensor", "from typing import Callable",
                             "from typing import Optional", "import torch.nn as nn")
    assert [n.name for n in ast.parse(block.source).body] == ["conv3x3", "Residual"]
    assert block.provenance == "from fakezoo resnet.py"


@pytest.mark.parametrize(("name", "model"), [
    ("convnet_small.py", "SmallConvNet"), ("vgg_cfg.py", "VGG11"),
    ("layers_append.py", "AppendNet"), ("resnet_blocks.py", "ResNet8")])
def test_an_inserted_residual_block_keeps_the_network_and_its_head_shape(name: str,
                                                                        model: str) -> None:
    source = (SAMPLES / name).read_text()
    g = Genome.parse(source, model)
    before = head_input(build_model(source, model))
    block = _residual()
    children = [insert_residual_at(g, p, block) for p in residual_points(g)]
    children = [c for c in children if c is not None]
    assert children
    for child in children:
        assert child.edits[0].summary.startswith("insert residual block ")
        assert child.edits[0].summary.endswith("(block from fakezoo resnet.py)")
        fixed = repair(child.source, model, (1, 8, 8), 10)
        # never before the user's activation: an in-place one would break training
        assert fixed.ok, (child.edits, fixed.reason)
        assert fixed.fixes == (), (child.edits, fixed.reason)
        model_ = build_model(child.source, model)
        assert any(type(m).__name__.startswith("Residual") for m in model_.modules())
        assert head_input(model_) == before, child.edits


def test_the_class_goes_in_once_and_a_name_the_file_uses_is_not_taken() -> None:
    source = (SAMPLES / "convnet_small.py").read_text().replace(
        "class SmallConvNet", "def conv3x3():\n    return 3\n\n\nclass SmallConvNet")
    g = Genome.parse(source, "SmallConvNet")
    child = insert_residual(g, random.Random(0), _pool())
    assert child is not None
    tree = ast.parse(child.source)
    defs = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    # the file's own conv3x3 stays; the block's helper comes renamed, the block calls it
    assert defs == ["conv3x3_2", "Residual", "conv3x3", "SmallConvNet"]
    assert "self.conv1 = conv3x3_2(inplanes, planes, stride)" in child.source
    # each added definition says where it comes from
    assert "# from fakezoo resnet.py\ndef conv3x3_2(" in child.source
    assert "# from fakezoo resnet.py\nclass Residual(" in child.source
    again = insert_residual(Genome.parse(child.source, "SmallConvNet"), random.Random(1),
                            _pool())
    assert again is not None
    defs_again = [n.name for n in ast.parse(again.source).body
                  if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert sorted(defs_again) == sorted(defs)  # reused, not added twice
    assert again.source.count("from typing import Optional") == 1
    assert again.source.count("# from fakezoo resnet.py") == 2
    assert build_model(again.source, "SmallConvNet") is not None


def test_a_block_is_never_built_inside_its_own_class() -> None:
    source = (SAMPLES / "resnet_blocks.py").read_text()
    g = Genome.parse(source, "ResNet8")
    [(name, text, imports, expansion)] = [
        found for found in harvest_residual_blocks(source) if found[0] == "BasicBlock"]
    own = ResidualBlock(name, text, imports, expansion, "resnet_blocks.py")
    inside = [p for p in insertion_points(g) if p.after and p.context == "2d"
              and g.owner_class_at(p.site.line) == "BasicBlock"]
    assert inside and all(insert_residual_at(g, p, own) is None for p in inside)


def test_the_channels_are_read_where_the_block_goes() -> None:
    g = Genome.parse((SAMPLES / "resnet_blocks.py").read_text(), "ResNet8")
    found = {(p.site.line, channels_at(g, p)) for p in insertion_points(g)
             if p.after and p.context == "2d"}
    # after the stem's relu: its BatchNorm2d's features, read from the layer itself so that
    # they follow width edits; after the adaptive pooling the stages have changed the
    # channels unseen: no guess
    assert (89, "self.bn1.num_features") in found and (93, None) in found
    vgg = Genome.parse((SAMPLES / "vgg_cfg.py").read_text(), "VGG11")
    assert {channels_at(vgg, p) for p in insertion_points(vgg)
            if p.after and p.context == "2d" and p.site.line in (38, 39, 40)} == {"x"}
    # right after a Flatten no layer before tells the width: the next layer's input does
    stack = Genome.parse((SAMPLES / "layers_append.py").read_text(), "AppendNet")
    [after_flatten] = [p for p in insertion_points(stack) if p.after and p.site.line == 17]
    assert channels_at(stack, after_flatten) == "hidden * 4 * 4"


def _pool() -> GenePool:
    pool = GenePool()
    block = _residual()
    pool.add_residual_blocks([(block.name, block.source, block.imports, block.expansion,
                               block.origin)])
    return pool


def test_torchvision_resnet_blocks_are_genes_when_installed() -> None:
    if zoo_files("torchvision") is None:
        pytest.skip("torchvision is not installed")
    with GenePool() as pool:
        pool.add_zoo("torchvision")
        names = {(b.name, b.provenance) for b in pool.residual_blocks()}
    assert {("BasicBlock", "from torchvision resnet.py"),
            ("Bottleneck", "from torchvision resnet.py")} <= names


def test_a_block_built_on_an_attribute_follows_a_later_width_edit() -> None:
    source = (SAMPLES / "convnet_small.py").read_text()
    g = Genome.parse(source, "SmallConvNet")
    point = next(p for p in insertion_points(g) if p.style == "forward" and p.site.line == 13)
    child = insert_residual_at(g, point, _residual())
    assert child is not None
    assert "self.block1 = Residual(self.conv1.out_channels, self.conv1.out_channels // 2)" \
        in child.source
    wider = child.source.replace("nn.Conv2d(1, 8, 3, padding=1)", "nn.Conv2d(1, 16, 3, padding=1)")
    fixed = repair(wider, "SmallConvNet", (1, 8, 8), 10)
    assert fixed.ok, fixed.reason  # the repair fixes fc1; the block needed nothing
