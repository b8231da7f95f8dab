"""Block insertion: a run of layers from the gene pool's blocks (``Conv2d → BatchNorm2d → ReLU``
as an installed model zoo writes it) after a layer of a ``nn.Sequential`` literal or a
``layers.append`` stack, made to keep the data's shape: it takes the width there as its input
and output width (``operators.channels``; where that cannot be told its own widths stay, for
the repair), its convolution runs at stride 1 with a padding that keeps the size, and its
pooling layers are left out. So the network's downsampling stays as it was, and a block in a
loop-built list (VGG's ``layers += [...]``) or a residual branch fits every pass."""

from __future__ import annotations

import ast
import copy
import random
import re

from nnevolve.gene_pool import GenePool
from nnevolve.gene_pool.pool import Block, Gene
from nnevolve.genome import Genome, GenomeError
from nnevolve.operators.channels import channels_at
from nnevolve.operators.common import ATTEMPTS, Edit, Offspring, block_from, one_line
from nnevolve.operators.dimensions import fits
from nnevolve.operators.geometry import (
    CONV_ARGS,
    argument,
    integer,
    is_conv,
    is_pool,
    layer_kind,
    set_argument,
)
from nnevolve.operators.insert import InsertionPoint, insert_at, insertion_points
from nnevolve.operators.mutate_args import MAX_WIDTH
from nnevolve.operators.replace import WIDTH_ARGS

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
    codes = shape_kept(block, channels_at(g, point))
    if codes is None:
        return None
    site, genome = point.site, g
    child: Offspring | None = None
    for code in reversed(codes):  # each goes right after the site: the last one first
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
    words = " → ".join(one_line(code) for code in codes)
    summary = f"insert block {words} after line {site.line}{block_from(block)}"
    return Offspring(child.source, (Edit("insert_block", summary),))


def shape_kept(block: Block, width: str | None) -> list[str] | None:
    """The block's layers made to keep the shape of the data they get: ``width`` (when known)
    in and out, a stride-1 convolution padded to keep the size, no pooling; None for a
    grouped convolution or one whose kernel cannot keep the size."""
    try:
        calls = [ast.parse(code.strip(), mode="eval").body for code in block.codes]
        value = None if width is None else ast.parse(width, mode="eval").body
    except SyntaxError:
        return None
    if not all(isinstance(c, ast.Call) for c in calls):
        return None
    layers = [c for c in calls if not is_pool(c)]  # type: ignore[arg-type]
    if not layers:
        return None
    head = layers[0]
    if is_conv(head):
        if argument(head, "groups", CONV_ARGS["groups"]) is not None:
            return None
        kernel = integer(argument(head, "kernel_size", CONV_ARGS["kernel_size"]), None)
        dilation = integer(argument(head, "dilation", CONV_ARGS["dilation"]), 1)
        if kernel is None or dilation is None or kernel % 2 == 0:
            return None
        set_argument(head, "stride", CONV_ARGS["stride"], None)
        set_argument(head, "padding", CONV_ARGS["padding"], ast.Constant(dilation * (kernel // 2)))
    if value is not None:
        for layer in layers:
            for name, position in WIDTH_ARGS.get(layer_kind(layer), ()):
                set_argument(layer, name, position, copy.deepcopy(value))
    return [ast.unparse(layer) for layer in layers]


def _modest(block: Block) -> bool:
    """No width beyond MAX_WIDTH: ImageNet classifiers' 4096-wide layers are not small steps."""
    return all(int(number) <= MAX_WIDTH for code in block.codes
               for number in re.findall(r"\b\d+\b", code))


def _type(code: str) -> str:
    """A block line's type, for the insertion's spelling (the first is its connection layer)."""
    from nnevolve.analysis import analyze

    items = analyze(f"import torch.nn as nn\nx = {code}\n").items
    return items[0].type if items else "connection"
