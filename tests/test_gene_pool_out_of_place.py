"""What the gene pool gives is out of place: a zoo's in-place layers and ``+=`` would overwrite
a tensor autograd needs once they sit in another network, and the static check's training step
would refuse the child."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nnevolve.gene_pool import GenePool
from nnevolve.gene_pool.out_of_place import out_of_place
from nnevolve.genome import Genome
from nnevolve.operators.insert import insertion_points
from nnevolve.operators.insert_block import insert_block_at
from nnevolve.operators.insert_residual import insert_residual_at
from nnevolve.repair import repair
from genome_support import SEQUENTIAL_SEED as SEED
from repair_support import src

# in-place operations that fail wherever they go: each overwrites a sigmoid's output, which
# the sigmoid's backward needs
ZOO = src('''
    import torch
    from torch import nn


    class Gate(nn.Module):
        def __init__(self, inplanes, planes):
            super().__init__()
            self.conv = nn.Conv2d(inplanes, planes, 3, padding=1)

        def forward(self, x):
            out = torch.sigmoid(self.conv(x))
            out += x
            return out


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 8, 3, padding=1), nn.Sigmoid(), nn.ReLU(True), nn.MaxPool2d(2))
            self.head = nn.Linear(128, 10)
    ''')


@pytest.mark.parametrize(("code", "expected"), [
    ("nn.ReLU(inplace=True)", "nn.ReLU()"),
    ("nn.ReLU(True)", "nn.ReLU()"),
    ("nn.LeakyReLU(0.1, True)", "nn.LeakyReLU(0.1)"),
    ("nn.Hardswish(inplace=True)", "nn.Hardswish()"),
    ("nn.Dropout(p=0.2, inplace=True)", "nn.Dropout(p=0.2)"),
    ("F.relu(x, inplace=True)", "F.relu(x)"),
    ("F.relu(x, True)", "F.relu(x)"),
    ("F.dropout(x, 0.5, self.training, True)", "F.dropout(x, 0.5, self.training)"),
    # no inplace parameter: a positional True is another setting (ceil_mode)
    ("nn.MaxPool2d(2, 2, 0, 1, False, True)", "nn.MaxPool2d(2, 2, 0, 1, False, True)"),
    ("nn.Linear(4, 5, bias=True)", "nn.Linear(4, 5, bias=True)"),
    ("mylib.ReLU(inplace=True)", "mylib.ReLU(inplace=True)"),  # not torch: not known
])
def test_the_inplace_argument_goes_by_keyword_and_by_position(code: str, expected: str) -> None:
    assert out_of_place(code) == expected


def test_augmented_assignments_of_forward_become_plain_ones_and_nothing_else_changes() -> None:
    source = src('''
        def widths(c):
            c *= 2
            return c


        class Block(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.act = nn.ReLU(inplace=True)
                c += 1

            def forward(self, x):
                out = self.act(x)
                out += x  # the shortcut
                out *= a + b
                self.steps += 1
                out[0] += 1
                return out
        ''')
    assert out_of_place(source, ("from torch import nn",)) == source.replace(
        "nn.ReLU(inplace=True)", "nn.ReLU()").replace(
        "out += x", "out = out + x").replace("out *= a + b", "out = out * (a + b)")


def test_what_the_pool_stores_is_out_of_place_and_trains_in_another_network(
        tmp_path: Path) -> None:
    (tmp_path / "zoo.py").write_text(ZOO)
    with GenePool() as pool:
        pool.harvest_workspace(tmp_path)
        assert "nn.ReLU()" in [g.code for g in pool.genes("activation")]
        assert not [g for g in pool.genes() if "True" in g.code]
        [block] = pool.blocks()
        assert block.codes == ("nn.Conv2d(1, 8, 3, padding=1)", "nn.Sigmoid()", "nn.ReLU()",
                               "nn.MaxPool2d(2)")
        [residual] = pool.residual_blocks()
        assert "out = out + x" in residual.source and "+=" not in residual.source
    g = Genome.parse(SEED)
    point = next(p for p in insertion_points(g) if p.after and p.site.code == "nn.ReLU()")
    for child in (insert_block_at(g, point, block), insert_residual_at(g, point, residual)):
        assert child is not None
        checked = repair(child.source, "Seed", (1, 8, 8), 10)  # a training step included
        assert checked.ok, (child.edits, checked.reason)


def test_a_pool_stored_by_older_code_is_emptied_and_a_current_one_kept(tmp_path: Path) -> None:
    path = tmp_path / "genes.sqlite"
    GenePool(path).close()
    with sqlite3.connect(path) as db:  # as the code before out-of-place storage left it
        db.execute("INSERT INTO genes VALUES ('nn.ReLU(inplace=True)', 'activation', 'x.py')")
        db.execute("PRAGMA user_version = 0")
    with GenePool(path) as pool:
        assert pool.genes() == []
        pool.add("nn.ReLU(inplace=True)", "activation", "x.py")
    with GenePool(path) as pool:
        assert [g.code for g in pool.genes()] == ["nn.ReLU()"]
