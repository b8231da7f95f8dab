"""The gene pool: typed layer lines in SQLite, harvested, deduplicated, drawn at random."""

from __future__ import annotations

import random
import sqlite3
import sys
from pathlib import Path

import pytest

from genome_support import ATTRIBUTE_NET, COLOR_NET, src
from nnevolve.gene_pool import (
    BUILTIN_GENES,
    Gene,
    GenePool,
    default_gene_pool,
    harvest_genes,
    workspace_root,
)
from nnevolve.gene_pool.pool import SAMPLE_GENES, folder_genes, packaged_sample_genes
from nnevolve.gene_pool.out_of_place import out_of_place

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def codes(pool: GenePool, type_: str | None = None) -> list[str]:
    return [g.code for g in pool.genes(type_)]


def test_genes_are_deduplicated_on_normalized_code():
    pool = GenePool()
    pool.add("nn.Linear(4,5)", "connection", "a.py")
    pool.add("nn.Linear( 4, 5 )", "connection", "b.py")
    pool.add("nn.ReLU()", "activation", "a.py")
    assert pool.genes() == [
        Gene("nn.ReLU()", "activation", "a.py"),
        Gene("nn.Linear(4, 5)", "connection", "a.py"),  # the first origin is kept
    ]
    assert len(pool) == 2


def test_bad_genes_are_refused_with_a_clear_message():
    pool = GenePool()
    with pytest.raises(ValueError, match="one call expression"):
        pool.add("layers.append(", "connection", "x")
    with pytest.raises(ValueError, match="one call expression"):
        pool.add("x = 1", "connection", "x")
    with pytest.raises(ValueError, match="unknown gene type 'optimizer'"):
        pool.add("torch.optim.Adam(params)", "optimizer", "x")


def test_harvest_normalizes_every_alias_to_nn_and_F():
    source = src(
        """
        import torch
        import torch.nn.functional as fn
        from torch.nn import Conv2d as C


        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = torch.nn.Linear(4, 5)
                self.conv = C(1, 2, 3)

            def forward(self, x):
                return fn.leaky_relu(self.fc(self.conv(x).flatten(1)), 0.2)
        """
    )
    assert sorted(harvest_genes(source)) == [
        ("F.leaky_relu(x, 0.2)", "activation"),
        ("nn.Conv2d(1, 2, 3)", "connection"),
        ("nn.Linear(4, 5)", "connection"),
    ]


def test_harvest_binds_constants_and_skips_lines_that_need_their_file():
    source = src(
        """
        import torch.nn as nn

        WIDTH = 32


        class Net(nn.Module):
            def __init__(self, p=8, classes=None):
                super().__init__()
                self.a = nn.Linear(2*p, WIDTH)
                self.b = nn.Linear(WIDTH, classes)
                self.loss = nn.CrossEntropyLoss()
                self.body = nn.Sequential(nn.Dropout(p / 16))

            def forward(self, x):
                return self.body(self.b(self.a(x)))
        """
    )
    # `classes` has no constant value; the loss and the container are not layer lines
    assert sorted(harvest_genes(source)) == [
        ("nn.Dropout(0.5)", "dropout"),
        ("nn.Linear(16, 32)", "connection"),
    ]


def test_a_harvested_dropout_follows_the_network_s_mode_and_one_that_drops_nothing_is_skipped():
    # torchvision's attention helpers: `training: bool = True`, `dropout: float = 0.0`
    source = src(
        """
        import torch.nn.functional as F


        def attention(x, dropout: float = 0.0, rate: float = 0.1, training: bool = True):
            x = F.dropout(x, p=dropout, training=training)
            return F.dropout(x, p=rate, training=training)
        """
    )
    assert list(harvest_genes(source)) == [
        ("F.dropout(x, p=0.1, training=self.training)", "dropout"),
    ]


def test_a_harvested_normalization_keeps_the_default_momentum_of_a_short_run():
    # MNASNet's TensorFlow momentum: after a variant's few hundred steps its running statistics
    # would still be near their start; a folded constant reads as written, not 0.000299999…
    source = src(
        """
        from torch import nn

        _BN_MOMENTUM = 1 - 0.9997
        _EPS = 1 - 0.999


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.BatchNorm2d(16, momentum=_BN_MOMENTUM)
                self.b = nn.BatchNorm1d(8, eps=_EPS, momentum=0.01)
                self.c = nn.BatchNorm2d(4, momentum=0.3)
        """
    )
    assert sorted(harvest_genes(source)) == [
        ("nn.BatchNorm1d(8, eps=0.001)", "normalization"),
        ("nn.BatchNorm2d(16)", "normalization"),
        ("nn.BatchNorm2d(4, momentum=0.3)", "normalization"),
    ]


def test_harvest_source_stores_the_lines_of_a_model_file_with_their_origin():
    pool = GenePool()
    added = pool.harvest_source(COLOR_NET, "color.py")
    assert added == 4
    assert pool.genes("connection") == [
        Gene("nn.Conv2d(1, 16, 3, padding=1)", "connection", "color.py"),
        Gene("nn.Conv2d(16, 12, 1)", "connection", "color.py"),
        Gene("nn.Conv2d(16, 16, 1)", "connection", "color.py"),
    ]
    assert pool.harvest_source(COLOR_NET, "again.py") == 0
    assert pool.harvest_source("def broken(:\n", "broken.py") == 0


def test_the_catalog_holds_common_lines_of_every_type_once():
    pool = GenePool()
    assert pool.add_catalog() == len(BUILTIN_GENES)
    assert pool.add_catalog() == 0
    for type_ in ("connection", "activation", "normalization", "pooling", "dropout"):
        assert pool.genes(type_, functional=False), type_
    assert "nn.Conv2d(16, 16, 3, padding=1)" in codes(pool, "connection")
    assert "F.relu(x)" in [g.code for g in pool.genes("activation", functional=True)]
    assert all(not g.functional for g in pool.genes("activation", functional=False))


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_workspace_is_harvested_without_environments_or_hidden_folders(tmp_path):
    layer = "import torch.nn as nn\nlayer = nn.{}\n"
    write(tmp_path / "models" / "net.py", layer.format("Linear(7, 7)"))
    write(tmp_path / "train.py", layer.format("GELU()"))
    write(tmp_path / ".venv" / "lib" / "x.py", layer.format("Linear(1, 1)"))
    write(tmp_path / "env" / "pyvenv.cfg", "home = /usr\n")
    write(tmp_path / "env" / "y.py", layer.format("Linear(2, 2)"))
    write(tmp_path / "node_modules" / "z.py", layer.format("Linear(3, 3)"))
    write(tmp_path / "lib" / "site-packages" / "w.py", layer.format("Linear(4, 4)"))
    write(tmp_path / ".hidden" / "v.py", layer.format("Linear(5, 5)"))
    write(tmp_path / "notes.txt", layer.format("Linear(6, 6)"))
    write(tmp_path / "big.py", layer.format("Linear(8, 8)") + "#" * 300_000)
    pool = GenePool()
    assert pool.harvest_workspace(tmp_path) == 2
    assert pool.genes() == [
        Gene("nn.GELU()", "activation", "train.py"),
        Gene("nn.Linear(7, 7)", "connection", "models/net.py"),
    ]
    assert pool.harvest_workspace(tmp_path / "missing") == 0


def test_samples_are_harvested_when_present_and_skipped_quietly_when_not(tmp_path):
    write(tmp_path / "samples" / "tiny.py", ATTRIBUTE_NET)
    pool = GenePool()
    assert pool.add_samples(tmp_path / "samples") > 0
    assert {g.origin for g in pool.genes()} == {"sample:tiny.py"}
    assert GenePool().add_samples(tmp_path / "nowhere") == 0


def test_the_packaged_sample_genes_are_those_of_the_samples_folder():
    """An installed wheel has no samples/: the gene pool reads their genes from the package."""
    harvested = folder_genes(REPO / "samples")
    assert packaged_sample_genes() == harvested, (
        "samples/ changed: run `python -m nnevolve.gene_pool.sample_genes samples`")
    pool = GenePool()
    # stored out of place: vgg_cfg.py's nn.ReLU(inplace=True) is the pool's nn.ReLU()
    genes = {(out_of_place(code), type_) for code, type_, _ in harvested}
    assert pool.add_samples() == len(genes) > 20
    assert {(g.code, g.type) for g in pool.genes()} == genes
    assert all(g.origin.startswith("sample:") for g in pool.genes())


def test_package_data_names_files_that_exist_and_ships_the_sample_genes():
    settings = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = settings["tool"]["setuptools"]["package-data"]["nnevolve"]
    package = REPO / "server" / "nnevolve"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    assert all(any(package.glob(pattern)) for pattern in patterns), patterns
    assert package / "gene_pool" / SAMPLE_GENES in shipped


def test_sampling_is_deterministic_and_filtered_by_type_and_form():
    pool = GenePool()
    pool.add_catalog()
    first = [pool.sample("activation", random.Random(s)) for s in range(10)]
    assert first == [pool.sample("activation", random.Random(s)) for s in range(10)]
    assert all(g is not None and g.type == "activation" and not g.functional for g in first)
    functional = pool.sample("pooling", random.Random(0), functional=True)
    assert functional is not None and functional.code.startswith("F.")
    picked = pool.sample("connection", random.Random(0), accept=lambda g: "Linear" in g.code)
    assert picked is not None and picked.code.startswith("nn.Linear(")
    assert pool.sample("connection", random.Random(0), accept=lambda g: False) is None
    assert GenePool().sample("activation", random.Random(0)) is None


def test_the_pool_persists_in_its_sqlite_file(tmp_path):
    path = tmp_path / "genes.sqlite"
    with GenePool(path) as pool:
        pool.add("nn.Linear(4, 5)", "connection", "a.py")
    with GenePool(path) as pool:
        assert codes(pool) == ["nn.Linear(4, 5)"]
    rows = sqlite3.connect(path).execute("SELECT code, type, origin FROM genes").fetchall()
    assert rows == [("nn.Linear(4, 5)", "connection", "a.py")]


def test_the_default_pool_has_the_model_file_workspace_and_catalog(tmp_path):
    project = tmp_path / "project"
    write(project / "pyproject.toml", "[project]\nname = 'p'\n")
    write(project / "src" / "model.py", COLOR_NET)
    write(project / "src" / "other.py", "import torch.nn as nn\nact = nn.Softplus()\n")
    assert workspace_root(project / "src" / "model.py") == project.resolve()
    pool = default_gene_pool(project / "src" / "model.py", project / ".nnevolve")
    try:
        origins = {g.origin for g in pool.genes()}
        assert {"model.py", "src/other.py", "catalog"} <= origins
        assert Path(pool.path) == project / ".nnevolve" / "genes.sqlite"
        assert "nn.Softplus()" in codes(pool, "activation")
        # the model file's own lines are credited to it, not to the workspace walk
        assert Gene("nn.Conv2d(16, 12, 1)", "connection", "model.py") in pool.genes("connection")
    finally:
        pool.close()


def test_harvest_reads_multi_line_calls_and_lines_with_wide_characters():
    source = src(
        """
        import torch.nn as nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.name = "größe"; self.fc = nn.Linear(4, 5)
                self.conv = nn.Conv2d(
                    1,
                    8,  # channels
                    kernel_size=3,
                )

            def forward(self, x):
                return self.fc(self.conv(x))
        """
    )
    assert sorted(harvest_genes(source)) == [
        ("nn.Conv2d(1, 8, kernel_size=3)", "connection"),
        ("nn.Linear(4, 5)", "connection"),
    ]
