"""Block insertion: a run of layers from the gene pool's blocks (``Conv2d → BatchNorm2d → ReLU``
as an installed model zoo writes it) after a layer of a ``nn.Sequential`` literal or a
``layers.append`` stack; the widths that then disagree are the repair's business, and a block
that shrinks the image below its window is refused by the static check."""

from __future__ import annotations

import random
import re

from nnevolve.gene_pool import GenePool
from nnevolve.gene_pool.pool import Block, Gene
from nnevolve.genome import Genome, GenomeError
from nnevolve.operators.common import ATTEMPTS, Edit, Offspring, block_from, one_line
from nnevolve.operators.dimensions import fits
from nnevolve.operators.insert import InsertionPoint, insert_at, insertion_points
from nnevolve.operators.mutate_args import MAX_WIDTH

DESCRIPTION = "Insert a block of layers (from an installed model zoo) after a layer."


def insert_block(g: Genome, rng: random.Random, pool: GenePool) -> Offspring | None:
    """``g`` with one of the pool's blocks inserted after a layer; None when none fits."""
    points = [p for p in insertion_points(g) if p.after and p.style in ("append", "sequential")]
    blocks = pool.blocks()
    if not points or not blocks:
        return None
    for _ in range(ATTEMPTS):
        point = rng.choice(points)
        fitting = [b for b in blocks if _modest(b)
                   and all(fits(code.split("(", 1)[0], point.context) for code in b.codes)]
        if not fitting:
            continue
        child = insert_block_at(g, point, rng.choice(fitting))
        if child is not None:
            return child
    return None


def insert_block_at(g: Genome, point: InsertionPoint, block: Block) -> Offspring | None:
    """``g`` with ``block``'s layers, in order, right after ``point``'s layer."""
    site, genome = point.site, g
    child: Offspring | None = None
    for code in reversed(block.codes):  # each goes right after the site: the last one first
        here = next((p for p in insertion_points(genome) if p.after and p.style == point.style
                     and (p.site.line, p.site.code) == (site.line, site.code)), None)
        if here is None:
            return None
        child = insert_at(genome, here, Gene(code, _type(code), block.origin))
        if child is None:
            return None
        try:
            genome = Genome.parse(child.source, g.model or g.class_name)
        except GenomeError:
            return None
    if child is None:
        return None
    words = " → ".join(one_line(code) for code in block.codes)
    summary = f"insert block {words} after line {site.line}{block_from(block)}"
    return Offspring(child.source, (Edit("insert_block", summary),))


def _modest(block: Block) -> bool:
    """No width beyond MAX_WIDTH: ImageNet classifiers' 4096-wide layers are not small steps."""
    return all(int(number) <= MAX_WIDTH for code in block.codes
               for number in re.findall(r"\b\d+\b", code))


def _type(code: str) -> str:
    """A block line's type, for the insertion's spelling (the first is its connection layer)."""
    from nnevolve.analysis import analyze

    items = analyze(f"import torch.nn as nn\nx = {code}\n").items
    return items[0].type if items else "connection"
