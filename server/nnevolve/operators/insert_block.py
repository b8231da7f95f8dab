"""Block insertion: a run of layers from the gene pool's blocks (``Conv2d → BatchNorm2d → ReLU``
as an installed model zoo writes it) after a layer of a ``nn.Sequential`` literal, a
``layers.append`` stack or a ``forward`` statement, made to keep the data's shape: it takes the
width there as its input and output width (``operators.channels``; where that cannot be told
its own widths stay, for the repair), its convolution runs at stride 1 with a padding that
keeps the size, and its pooling layers are left out. So the network's downsampling stays as it
was, and a block in a loop-built list (VGG's ``layers += [...]``) or a residual branch fits
every pass. Where the user's own activation comes next, the block leaves out its trailing one.

At the network's input (before its first layer: an FCN's ``x = self.flatten(x)``) a
convolution block goes in as a stem instead: it takes the data's channels, keeps its own width
and halves the resolution once, through its pooling or its strided convolution (else a 2×2
max-pool of its own), as stems do: widening the data without downsampling would multiply the
features every later layer sees by the block's width."""

from __future__ import annotations

import ast
import copy
import random
import re

import libcst as cst

from nnevolve.gene_pool import GenePool
from nnevolve.gene_pool.pool import Block
from nnevolve.genome import Genome
from nnevolve.operators.channels import channels_at, out_width
from nnevolve.operators.common import (
    Edit,
    Offspring,
    block_comment,
    block_from,
    finish,
    first_child,
    layer_expression,
    one_line,
)
from nnevolve.operators.dimensions import dimension, fits
from nnevolve.operators.geometry import (
    CONV_ARGS,
    argument,
    integer,
    is_conv,
    is_pool,
    layer_kind,
    set_argument,
)
from nnevolve.operators.insert import (
    InsertionPoint,
    assignment,
    init_anchor,
    insertion_points,
    new_attribute,
)
from nnevolve.operators.mutate_args import MAX_WIDTH
from nnevolve.operators.replace import WIDTH_ARGS
from nnevolve.operators.rewrite import Rewrite, credited, new_statement

DESCRIPTION = "Insert a block of layers (from an installed model zoo) after a layer."


def insert_block(g: Genome, rng: random.Random, pool: GenePool) -> Offspring | None:
    """``g`` with one of the pool's blocks inserted after a layer (or as a stem at the
    network's input); None when none fits."""
    points = block_points(g)
    blocks = [b for b in pool.blocks() if _modest(b)]
    if not points or not blocks:
        return None

    def attempt() -> Offspring | None:
        point = rng.choice(points)
        fitting = [b for b in blocks
                   if all(fits(code.split("(", 1)[0], point.context) for code in b.codes)]
        return insert_block_at(g, point, rng.choice(fitting)) if fitting else None

    return first_child(attempt)


def transplants(g: Genome, rng: random.Random, pool: GenePool, count: int) -> list[Offspring]:
    """Up to ``count`` distinct children of ``g``, each with another of the pool's blocks
    inserted at a point it fits (a stem at the input among them, where the data is an image):
    the method's "code sampled from a database" for the initial population."""
    points = block_points(g)
    blocks = [b for b in pool.blocks() if _modest(b)]
    rng.shuffle(blocks)
    children: dict[str, Offspring] = {}
    for block in blocks:
        if len(children) >= count:
            break
        fitting = [p for p in points
                   if all(fits(code.split("(", 1)[0], p.context) for code in block.codes)]
        rng.shuffle(fitting)
        for point in fitting:
            child = insert_block_at(g, point, block)
            if child is not None and child.source not in children:
                children[child.source] = child
                break
    return list(children.values())


def block_points(g: Genome) -> list[InsertionPoint]:
    """Where a block may go: after a layer of a literal, a layer list or a ``forward``
    statement, and before the network's first layer (a stem)."""
    return [p for p in insertion_points(g) if p.style in ("append", "sequential", "forward")
            and (p.after or at_input(g, p))]


def at_input(g: Genome, point: InsertionPoint) -> bool:
    """Whether ``point`` is before the first layer the network applies to its input."""
    if point.after:
        return False
    ordered = g.in_flow_order(g.live_sites())
    return bool(ordered) and point.site == ordered[0]


def insert_block_at(g: Genome, point: InsertionPoint, block: Block) -> Offspring | None:
    """``g`` with ``block``'s layers, in order, right after ``point``'s layer (a stem when
    ``point`` is the network's input)."""
    codes = (stem(block, first_width(g)) if at_input(g, point)
             else shape_kept(block, channels_at(g, point)))
    if codes is None:
        return None
    if len(codes) > 1 and _type(codes[-1]) == "activation" and activation_next(g, point):
        # the network's own activation follows: the block's would repeat it (ReLU of ReLU is
        # ReLU), and an in-place one (``nn.ReLU(inplace=True)``) would overwrite the output the
        # block's activation keeps for the backward pass
        codes = codes[:-1]
    rewrite = Rewrite(g)
    calls = [layer_expression(g, code, rewrite) for code in codes]
    if any(call is None for call in calls):
        return None
    anchor = g.anchor(point.site)
    side = "after" if point.after else "before"
    credit = block_comment(block)
    if point.style == "append":
        for index, call in enumerate(calls):
            statement = new_statement(anchor.statement, anchor.call, call)
            rewrite.add_statement(anchor.statement, credited(statement, credit) if index == 0
                                  else statement, after=point.after)
    elif point.style == "sequential":
        assert anchor.sequence is not None and anchor.element is not None
        elements = (anchor.sequence.args if isinstance(anchor.sequence, cst.Call)
                    else anchor.sequence.elements)
        position = [id(e) for e in elements].index(id(anchor.element)) + int(point.after)
        # each goes in at the same position: the last one first
        for index, call in reversed(list(enumerate(calls))):
            rewrite.insert_element(anchor.sequence, position, call,
                                   credit if index == 0 else None)
    else:  # forward: a new attribute per layer, applied in statements next to the point's
        assert point.statement is not None
        registered_after = init_anchor(g, point)
        if registered_after is None:
            return None
        variable, taken = cst.Name(point.variable or "x"), set()
        for index, (code, call) in enumerate(zip(codes, calls)):
            name = new_attribute(g, _type(code), dimension(code.split("(", 1)[0]), taken)
            taken.add(name)
            attribute = cst.Attribute(cst.Name("self"), cst.Name(name))
            registration = assignment(attribute, call)
            rewrite.add_statement(registered_after, credited(registration, credit) if index == 0
                                  else registration, after=True)
            rewrite.add_statement(point.statement, assignment(
                variable, cst.Call(func=attribute, args=[cst.Arg(variable)])), after=point.after)
    words = " → ".join(one_line(code) for code in codes)
    line = g.line_of(point.statement) if point.statement is not None else point.site.line
    summary = f"insert block {words} {side} line {line}{block_from(block)}"
    return finish(g, rewrite, [Edit("insert_block", summary)])


def activation_next(g: Genome, point: InsertionPoint) -> bool:
    """Whether the layer the data reaches right after ``point`` (the next element of its
    literal or list, the next call of ``forward``) is an activation."""
    ordered = g.in_flow_order(g.live_sites())
    if point.site not in ordered:
        return False
    following = ordered.index(point.site) + int(point.after)
    return following < len(ordered) and ordered[following].type == "activation"


def first_width(g: Genome) -> str | None:
    """The output width of the network's first connection layer, as a literal (``32`` for an
    FCN's ``nn.Linear(784, 32)``); None when it is not one."""
    for site in g.in_flow_order(g.live_sites()):
        if site.type == "connection":
            found = out_width(site)
            if found is None or not isinstance(found[1], ast.Constant):
                return None
            return ast.unparse(found[1])
    return None


def stem(block: Block, width: str | None = None) -> list[str] | None:
    """The block as the network's first layers: a convolution led block that takes the data's
    channels (for the repair to set), is as wide as the network's first layer (``width``;
    None: its own width) and halves the resolution once; None for a block not led by a
    convolution, a grouped one or an even kernel."""
    try:
        calls = [ast.parse(code.strip(), mode="eval").body for code in block.codes]
    except SyntaxError:
        return None
    if not calls or not all(isinstance(c, ast.Call) for c in calls):
        return None
    head = calls[0]
    if not is_conv(head) or argument(head, "groups", CONV_ARGS["groups"]) is not None:  # type: ignore[arg-type]
        return None
    kernel = integer(argument(head, "kernel_size", CONV_ARGS["kernel_size"]), None)  # type: ignore[arg-type]
    dilation = integer(argument(head, "dilation", CONV_ARGS["dilation"]), 1)  # type: ignore[arg-type]
    stride = integer(argument(head, "stride", CONV_ARGS["stride"]), 1)  # type: ignore[arg-type]
    if kernel is None or dilation is None or kernel % 2 == 0:
        return None
    set_argument(head, "padding", CONV_ARGS["padding"], ast.Constant(dilation * (kernel // 2)))  # type: ignore[arg-type]
    pools = [c for c in calls if is_pool(c) and not layer_kind(c).startswith("Adaptive")]  # type: ignore[arg-type]
    halving = None
    if pools:  # the block's own pooling, made a 2×2 step; the convolution at stride 1
        halving = ast.Call(func=copy.deepcopy(pools[0].func), args=[ast.Constant(2)],  # type: ignore[attr-defined]
                           keywords=[])
    set_argument(head, "stride", CONV_ARGS["stride"],  # type: ignore[arg-type]
                 ast.Constant(2) if halving is None and stride is not None and stride > 1
                 else None)
    if halving is None and (stride is None or stride <= 1):
        halving = ast.parse(f"nn.MaxPool{layer_kind(head)[-2:]}(2)", mode="eval").body  # type: ignore[arg-type, assignment]
    layers = [c for c in calls if not is_pool(c)]  # type: ignore[arg-type]
    if width is not None:
        value = ast.parse(width, mode="eval").body
        for layer in layers:  # its input width is the data's: the repair sets the head's
            for name, position in WIDTH_ARGS.get(layer_kind(layer), ())[-1:]:  # type: ignore[arg-type]
                set_argument(layer, name, position, copy.deepcopy(value))  # type: ignore[arg-type]
    return [ast.unparse(layer) for layer in layers] + (
        [ast.unparse(halving)] if halving is not None else [])


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
