"""Already-optimized code: an installed model zoo's lines and blocks in the gene pool, with
their provenance in the edits that use them."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from genome_support import SEQUENTIAL_SEED as SEED, changed_lines
from nnevolve.gene_pool import GenePool, default_gene_pool
from nnevolve.gene_pool.pool import Block, Gene
from nnevolve.gene_pool.zoo import harvest_blocks, zoo_files, zoo_harvest
from nnevolve.genome import Genome
from nnevolve.operators.insert import insert_at, insertion_points
from nnevolve.operators.insert_block import insert_block, insert_block_at
from nnevolve.operators.replace import replace_site
from nnevolve.repair import repair

ZOO_NET = '''import torch.nn as nn


class Net(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, padding=1),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(64, width, 3),
            nn.ReLU(),
        )
        self.head = [nn.Flatten(), nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.5),
                     nn.Linear(128, 4096), nn.ReLU(), nn.Linear(4096, 10)]
'''



def test_blocks_are_runs_of_self_contained_layers_each_led_by_a_connection() -> None:
    assert list(harvest_blocks(ZOO_NET)) == [
        ("nn.Conv2d(3, 64, kernel_size=3, padding=1)", "nn.BatchNorm2d(64)",
         "nn.ReLU(inplace=True)", "nn.MaxPool2d(2)"),
        # nn.Conv2d(64, width, 3) needs a name of its file: it ends the run
        ("nn.Linear(256, 128)", "nn.ReLU()", "nn.Dropout(0.5)"),
        ("nn.Linear(128, 4096)", "nn.ReLU()"),
    ]


@pytest.fixture
def fake_zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An installed package `fakezoo` whose models/ folder holds ZOO_NET."""
    models = tmp_path / "site" / "fakezoo" / "models"
    models.mkdir(parents=True)
    (models.parent / "__init__.py").write_text("")
    (models / "net.py").write_text(ZOO_NET)
    (models / "_utils.py").write_text("import torch.nn as nn\nx = nn.GELU()\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return models


def test_a_zoo_is_found_without_importing_it_and_harvested_once(fake_zoo: Path) -> None:
    found = zoo_files("fakezoo")
    assert found is not None and [p.name for p in found[1]] == ["net.py"]  # not private ones
    assert "fakezoo" not in sys.modules
    first = zoo_harvest("fakezoo")
    assert ("nn.BatchNorm2d(64)", "normalization", "zoo:fakezoo net.py") in first.genes
    assert first.blocks[0][1] == "zoo:fakezoo net.py"
    (fake_zoo / "net.py").write_text("import torch.nn as nn\nx = nn.Tanh()\n")
    assert zoo_harvest("fakezoo") == first  # from the user's cache, not read again
    assert zoo_files("no_such_zoo_here") is None and zoo_harvest("no_such_zoo_here").genes == []


def test_the_pool_keeps_zoo_lines_and_blocks_with_their_provenance(fake_zoo: Path) -> None:
    with GenePool() as pool:
        assert pool.add_zoo("fakezoo") > 0
        [relu] = [g for g in pool.genes("activation") if g.code == "nn.ReLU()"]
        assert relu.provenance == "from fakezoo net.py"
        assert [b.codes[0] for b in pool.blocks()] == [
            "nn.Conv2d(3, 64, kernel_size=3, padding=1)", "nn.Linear(128, 4096)",
            "nn.Linear(256, 128)"]
        assert pool.blocks()[0].provenance == "from fakezoo net.py"
        pool.add_catalog()
        assert all(g.provenance is None for g in pool.genes() if g.origin == "catalog")


def test_edits_with_a_zoo_gene_say_where_it_comes_from() -> None:
    g = Genome.parse(SEED)
    point = next(p for p in insertion_points(g) if p.after and p.site.code == "nn.ReLU()")
    zoo = Gene("nn.BatchNorm1d(512)", "normalization", "zoo:torchvision alexnet.py")
    child = insert_at(g, point, zoo)
    assert child is not None and child.edits[0].summary.endswith(
        "at line 9 (from torchvision alexnet.py)")
    own = insert_at(g, point, Gene("nn.BatchNorm1d(512)", "normalization", "catalog"))
    assert own is not None and "from" not in own.edits[0].summary
    relu = next(s for s in g.sites if s.code == "nn.ReLU()")
    swapped = replace_site(g, relu, Gene("nn.ReLU6(inplace=True)", "activation",
                                         "zoo:torchvision mobilenetv2.py"))
    assert swapped is not None and swapped.edits[0].summary == (
        "replace nn.ReLU() by nn.ReLU6(inplace=True) at line 9 (from torchvision mobilenetv2.py)")


def test_a_block_goes_in_whole_after_a_layer_keeping_the_shape_of_the_data() -> None:
    g = Genome.parse(SEED)
    point = next(p for p in insertion_points(g) if p.after and p.site.code == "nn.ReLU()")
    block = Block(("nn.Conv2d(64, 32, kernel_size=5, stride=2)", "nn.BatchNorm2d(32)",
                   "nn.ReLU(inplace=True)", "nn.MaxPool2d(2)"), "zoo:torchvision vgg.py")
    child = insert_block_at(g, point, block)
    assert child is not None
    # the width there in and out, stride 1 and a size-keeping padding, no pooling
    assert [line.strip() for line in changed_lines(SEED, child.source)[1]] == [
        "nn.Conv2d(8, 8, kernel_size=5, padding=2),  # block from torchvision vgg.py",
        "nn.BatchNorm2d(8),", "nn.ReLU(inplace=True),"]
    assert child.edits[0].summary == (
        "insert block nn.Conv2d(8, 8, kernel_size=5, padding=2) → nn.BatchNorm2d(8) → "
        "nn.ReLU(inplace=True) after line 9 (block from torchvision vgg.py)")
    fixed = repair(child.source, "Seed", (1, 8, 8), 10)
    assert fixed.ok and fixed.fixes == (), (fixed.reason, fixed.fixes)


def test_the_block_operator_draws_only_blocks_that_fit_the_data_there(fake_zoo: Path) -> None:
    with GenePool() as pool:
        pool.add_zoo("fakezoo")
        g = Genome.parse(SEED)
        children = [insert_block(g, random.Random(seed), pool) for seed in range(30)]
    summaries = [c.edits[0].summary for c in children if c is not None]
    assert summaries and all("(block from fakezoo net.py)" in s for s in summaries)
    assert not any("4096" in s for s in summaries)  # an ImageNet-wide layer is no small step
    # after the ReLU the data is an image: a Conv block; after the Flatten, a Linear block;
    # before the first layer, a Conv block as a stem (with its pooling)
    assert all(("nn.Conv2d" in s) == ("after line 9" in s or "after line 8" in s
                                      or "MaxPool2d(2) before line 8" in s) for s in summaries)


def test_torchvision_model_sources_feed_a_runs_pool_when_installed(tmp_path: Path) -> None:
    found = zoo_files("torchvision")
    if found is None:
        pytest.skip("torchvision is not installed")
    assert "alexnet.py" in [p.name for p in found[1]]
    (tmp_path / "seed.py").write_text(SEED)
    with default_gene_pool(tmp_path / "seed.py", tmp_path / ".nnevolve") as pool:
        assert any(g.provenance == "from torchvision alexnet.py" for g in pool.genes())
        assert any(b.provenance == "from torchvision alexnet.py" for b in pool.blocks())


def test_the_zoo_packages_setting_names_packages_to_harvest(tmp_path: Path) -> None:
    from nnevolve.config import ConfigError, EvolveConfig, load_config

    assert EvolveConfig().zoo_packages == ("torchvision",)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nnevolve]\nzoo_packages = ["torchvision", "timm"]\n')
    config = load_config(tmp_path)
    assert config.zoo_packages == ("torchvision", "timm")
    assert EvolveConfig.from_json(config.to_json()).zoo_packages == ("torchvision", "timm")
    # a dotted name would import its parent package to be found
    (tmp_path / "pyproject.toml").write_text('[tool.nnevolve]\nzoo_packages = ["torch.nn"]\n')
    with pytest.raises(ConfigError, match="'zoo_packages' must be a list of installed package"):
        load_config(tmp_path)


def test_named_zoos_are_harvested_unimported_and_a_missing_one_is_skipped_with_a_warning(
        fake_zoo: Path, tmp_path: Path) -> None:
    from nnevolve.gene_pool.pool import ZooWarning

    flat = tmp_path / "site" / "flatzoo"  # a package without a models/ folder
    (flat / "_private").mkdir(parents=True)
    (flat / "__init__.py").write_text("raise RuntimeError('never imported')\n")
    (flat / "layers.py").write_text(ZOO_NET.replace("nn.Dropout(0.5)", "nn.Dropout(0.25)"))
    (flat / "_private" / "hidden.py").write_text("import torch.nn as nn\nx = nn.Hardshrink(0.37)\n")
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "seed.py").write_text(SEED)
    with pytest.warns(ZooWarning, match="'no_such_zoo' is not installed"):
        pool = default_gene_pool(tmp_path / "project" / "seed.py", tmp_path / "store",
                                 ("fakezoo", "flatzoo", "no_such_zoo"))
    with pool:
        provenances = {b.provenance for b in pool.blocks()}
        assert {"from fakezoo net.py", "from flatzoo layers.py"} <= provenances
        assert not any(g.code == "nn.Hardshrink(0.37)" for g in pool.genes())  # private files
    assert "fakezoo" not in sys.modules and "flatzoo" not in sys.modules


WORKSPACE_NET = '''import torch.nn as nn


class Res(nn.Module):
    def __init__(self, channels, planes):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())

    def forward(self, x):
        return x + self.body(x)
'''


def test_workspace_model_files_give_blocks_and_residual_classes(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "mine.py").write_text(WORKSPACE_NET)
    (tmp_path / "notes.py").write_text("import torch\nLAYERS = [torch.nn.Conv2d(1, 2, 3), "
                                       "torch.nn.ReLU()]\n")  # defines no module: lines only
    with GenePool() as pool:
        pool.harvest_workspace(tmp_path)
        assert [(b.codes, b.provenance) for b in pool.blocks()] == [
            (("nn.Conv2d(16, 16, 3, padding=1)", "nn.BatchNorm2d(16)", "nn.ReLU()"),
             "from models/mine.py")]
        [res] = pool.residual_blocks()
        assert (res.name, res.provenance, res.expansion) == ("Res", "from models/mine.py", 1)
