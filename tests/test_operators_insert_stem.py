"""Blocks from the gene pool where the network starts: before an FCN's first layer a convolution
block goes in as a stem that halves the resolution, and the initial population holds such
transplants (the search from an FCN reaches convolutional networks from generation 0)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import torch

from genome_support import changed_lines
from nnevolve.config import EvolveConfig
from nnevolve.evaluation.train import build_model
from nnevolve.gene_pool import GenePool
from nnevolve.gene_pool.pool import Block
from nnevolve.genome import Genome, source_hash
from nnevolve.operators.dimensions import fits
from nnevolve.operators.insert_block import at_input, block_points, insert_block_at, stem
from nnevolve.repair import repair
from nnevolve.search import Breeder, Candidate, SearchCounts
from nnevolve.search.sampling import initial_mutants
from nnevolve.store import RunStore

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

FCN = '''from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.hidden = nn.Linear(64, 32)
        self.act = nn.Tanh()
        self.out = nn.Linear(32, 10)

    def forward(self, x):
        x = self.flatten(x)
        x = self.act(self.hidden(x))
        return self.out(x)
'''
VGG_BLOCK = Block(("nn.Conv2d(64, 128, kernel_size=3, padding=1)", "nn.BatchNorm2d(128)",
                   "nn.ReLU(inplace=True)"), "zoo:torchvision vgg.py")


def test_a_conv_block_before_an_fcns_first_layer_is_a_stem_that_halves_the_resolution() -> None:
    g = Genome.parse(FCN, "Net")
    [point] = [p for p in block_points(g) if at_input(g, p)]
    assert point.style == "forward" and point.site.code == "nn.Flatten()"
    child = insert_block_at(g, point, VGG_BLOCK)
    assert child is not None
    _, added = changed_lines(FCN, child.source)
    # as wide as the network's first layer (32, not VGG's 128), a 2×2 pool of its own
    assert [line.strip() for line in added] == [
        "self.conv1 = nn.Conv2d(64, 32, kernel_size=3, padding=1)"
        "  # block from torchvision vgg.py",
        "self.norm1 = nn.BatchNorm2d(32)", "self.act1 = nn.ReLU(inplace=True)",
        "self.pool1 = nn.MaxPool2d(2)",
        "x = self.conv1(x)", "x = self.norm1(x)", "x = self.act1(x)", "x = self.pool1(x)"]
    assert child.source.index("x = self.pool1(x)") < child.source.index("x = self.flatten(x)")
    assert child.edits[0].summary.endswith("before line 13 (block from torchvision vgg.py)")
    fixed = repair(child.source, "Net", (1, 8, 8), 10)
    # the data's channels in; the flattened features are 32 × 4 × 4, not 32 × 8 × 8
    assert fixed.ok and fixed.fixes == ("Conv2d in_channels 64→1 at line 8",
                                        "Linear in_features 64→512 at line 12"), fixed


def test_a_stem_downsamples_once_through_its_pooling_its_stride_or_a_pool_of_its_own() -> None:
    alexnet = Block(("nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2)",
                     "nn.ReLU(inplace=True)", "nn.MaxPool2d(kernel_size=3, stride=2)"), "zoo:a")
    mnasnet = Block(("nn.Conv2d(3, 32, 3, padding=1, stride=2, bias=False)",
                     "nn.BatchNorm2d(32)", "nn.ReLU(inplace=True)"), "zoo:m")
    assert stem(alexnet, "16") == ["nn.Conv2d(3, 16, kernel_size=11, padding=5)",
                                   "nn.ReLU(inplace=True)", "nn.MaxPool2d(2)"]
    assert stem(mnasnet, None) == ["nn.Conv2d(3, 32, 3, bias=False, padding=1, stride=2)",
                                   "nn.BatchNorm2d(32)", "nn.ReLU(inplace=True)"]
    assert stem(VGG_BLOCK, None)[-1] == "nn.MaxPool2d(2)"
    assert stem(Block(("nn.Linear(10, 10)", "nn.ReLU()"), "zoo:l")) is None  # no stem


def test_every_block_inserted_into_a_small_convnet_is_used_and_a_stem_takes_the_datas_channels(
        ) -> None:
    # no inserted layer is left out of the forward pass (a dead insertion would cost a
    # training run for the parent's function), and the stem written `nn.Conv2d(384, 8, ...)`
    # (the block's own input width) is built with the data's one channel by the repair
    source = (SAMPLES / "convnet_small.py").read_text()
    checked = repair(source, "SmallConvNet", (1, 8, 8), 10)
    g = Genome.parse(checked.source, "SmallConvNet", live=checked.liveness)
    alexnet = Block(("nn.Conv2d(384, 256, kernel_size=3, padding=1)", "nn.ReLU()",
                     "nn.MaxPool2d(kernel_size=3, stride=2)"), "zoo:torchvision alexnet.py")
    stems = 0
    points = [p for p in block_points(g) if fits("nn.Conv2d", p.context)]  # an image there
    assert len(points) == 2  # before line 18 (a stem) and after it
    for point in points:
        child = insert_block_at(g, point, alexnet)
        assert child is not None
        fixed = repair(child.source, "SmallConvNet", (1, 8, 8), 10)
        assert fixed.ok, fixed.reason
        model = build_model(fixed.source, "SmallConvNet")
        assert _unused_layers(model, (1, 8, 8)) == [], child.edits
        if at_input(g, point):
            stems += 1
            assert "nn.Conv2d(384, 8, kernel_size=3, padding=1)" in child.edits[0].summary
            assert "Conv2d in_channels 384→1 at line 14" in fixed.fixes
            assert model.conv2.weight.shape == (8, 1, 3, 3)
    assert stems == 1


def _unused_layers(model: torch.nn.Module, shape: tuple[int, ...]) -> list[str]:
    """The layers with parameters that a forward pass never calls."""
    layers = {name: m for name, m in model.named_modules()
              if name and not list(m.children()) and list(m.parameters())}
    called: set[str] = set()
    for name, layer in layers.items():
        layer.register_forward_hook(lambda *_, name=name: called.add(name))
    with torch.no_grad():
        model(torch.zeros(2, *shape))
    return sorted(set(layers) - called)


class RealCheck:
    """The static check in-process: repair and a forward pass for 8×8 one-channel images."""

    def check(self, source: str, class_name: str):  # noqa: ANN201
        return repair(source, class_name, (1, 8, 8), 10)


def test_generation_zero_holds_blocks_transplanted_from_the_gene_pool(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite")
    run_id = store.create_run(file="net.py", class_name="Net", base_source=FCN,
                              base_hash=source_hash(FCN), config=EvolveConfig().to_json(),
                              dataset_fingerprint="fp", budget_key="bk")
    with GenePool() as pool:
        pool.add_catalog()
        pool.add_blocks([(VGG_BLOCK.codes, VGG_BLOCK.origin)])
        breeder = Breeder(store=store, run_id=run_id, class_name="Net", pool=pool,
                          checker=RealCheck(),  # type: ignore[arg-type]
                          rng=random.Random(0), counts=SearchCounts())
        seed = Candidate(source=FCN, source_hash=source_hash(FCN), class_name="Net",
                         checked=True)
        breeder.remember(seed)
        mutants = initial_mutants(breeder, seed, 6)
    # two scaled (widths ×½, ×4), then a block transplanted into the seed and into widths ×½:
    # stems as wide as each one's first layer
    assert [[e["op"] for e in m.edits if e["op"] != "repair"] for m in mutants[:4]] == [
        ["scale"], ["scale"], ["insert_block"], ["scale", "insert_block"]]
    assert [re.search(r"nn.Conv2d\(1, (\d+)", m.source).group(1)  # type: ignore[union-attr]
            for m in mutants[2:4]] == ["32", "16"]
    assert len({m.source_hash for m in mutants}) == 6
