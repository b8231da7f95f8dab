"""Block replacement: a run of layers (a connection layer and the normalization, activation,
pooling and dropout layers right after it) gives way to a block of the gene pool
(``Conv2d → BatchNorm2d → ReLU`` as an installed model zoo or the workspace writes it).

A run is a stretch of one ``nn.Sequential`` / list literal or of ``layers.append(...)``
statements, or a chain of ``self`` attributes
(and functional activations) in ``forward``, each applied to the one before: ``x =
self.pool(F.relu(self.bn1(self.conv1(x))))``. An attribute run becomes one attribute holding
an ``nn.Sequential`` of the block; the other attributes go with their uses.

The block takes the run's widths (the connection layer's input and output width expressions,
the normalizations' features), so the rest of the network is untouched, and the run's
downsampling: the block is kept as it is when it maps every input size as the run does;
otherwise its convolution takes the run's stride (and a padding that keeps the size) and the
run's pooling layers; failing that, the run's convolution geometry. The spatial size at the
head stays the same.
"""

from __future__ import annotations

import ast
import copy
import random
from collections import defaultdict
from dataclasses import dataclass

import libcst as cst

from nnevolve.gene_pool import GenePool
from nnevolve.gene_pool.pool import Block
from nnevolve.gene_pool.zoo import BLOCK_TYPES, MAX_BLOCK
from nnevolve.genome import Genome, Site
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
from nnevolve.operators.delete import is_plain_call, unwrap
from nnevolve.operators.dimensions import context_at, dimension, fits
from nnevolve.operators.geometry import (
    CONV_ARGS,
    argument,
    is_conv,
    is_pool,
    layer_kind,
    set_argument,
    size_map,
)
from nnevolve.operators.replace import WIDTH_ARGS
from nnevolve.operators.rewrite import Rewrite, credited, new_statement

DESCRIPTION = "Replace a run of layers (conv → norm → act → pool) by a block from the gene pool."
GEOMETRY = ("kernel_size", "stride", "padding", "dilation")


@dataclass(frozen=True)
class LayerRun:
    """Layers applied one after another: a connection layer first, in forward order."""

    sites: tuple[Site, ...]
    style: str  # "sequential" (one literal's elements) | "append" | "attribute" (self attributes)


def replace_block(g: Genome, rng: random.Random, pool: GenePool) -> Offspring | None:
    """``g`` with a run of layers replaced by one of the pool's blocks; None when none fits."""
    runs = layer_runs(g)
    blocks = pool.blocks()
    if not runs or not blocks:
        return None

    def attempt() -> Offspring | None:
        run = rng.choice(runs)
        first = run.sites[0]
        context = dimension(first.name) or context_at(g, first, after=False)
        kind = first.name.rsplit(".", 1)[-1]
        fitting = [b for b in blocks if b.codes[0].split("(", 1)[0].rsplit(".", 1)[-1] == kind
                   and all(fits(code.split("(", 1)[0], context) for code in b.codes)]
        return replace_run(g, run, rng.choice(fitting)) if fitting else None

    return first_child(attempt)


def layer_runs(g: Genome) -> list[LayerRun]:
    """The runs of ``g``: in literals and as attribute chains, never holding the output layer."""
    output = g.output_site()
    live = [s for s in g.in_flow_order(g.live_sites()) if s != output]
    return _sequence_runs(g, live) + _append_runs(g, live) + _attribute_runs(g, live)


def _sequence_runs(g: Genome, live: list[Site]) -> list[LayerRun]:
    by_literal: dict[int, list[tuple[int, Site]]] = defaultdict(list)
    for site in live:
        if site.kind == "sequential":
            anchor = g.anchor(site)
            by_literal[id(anchor.sequence)].append((_position(g, site), site))
    runs: list[LayerRun] = []
    for members in by_literal.values():
        members.sort(key=lambda entry: entry[0])
        for start, (position, site) in enumerate(members):
            if site.type != "connection":
                continue
            run = [site]
            for later_position, later in members[start + 1:]:
                if (later.type not in BLOCK_TYPES or later_position != position + len(run)
                        or len(run) >= MAX_BLOCK):
                    break
                run.append(later)
            runs.append(LayerRun(tuple(run), "sequential"))
    return runs


def _append_runs(g: Genome, live: list[Site]) -> list[LayerRun]:
    """Runs of ``layers.append(...)`` statements that follow each other directly."""
    runs: list[LayerRun] = []
    appended = [s for s in live if s.kind == "append"]
    for index, site in enumerate(appended):
        if site.type != "connection":
            continue
        run = [site]
        for later in appended[index + 1:]:
            if (later.type not in BLOCK_TYPES or later.container != site.container
                    or len(run) >= MAX_BLOCK
                    or not _next_statement(g, g.anchor(run[-1]).statement,
                                           g.anchor(later).statement)):
                break
            run.append(later)
        runs.append(LayerRun(tuple(run), "append"))
    return runs


def _next_statement(g: Genome, statement: cst.CSTNode | None, following: cst.CSTNode | None
                    ) -> bool:
    """Whether ``following`` comes right after ``statement`` in the same block."""
    if statement is None or following is None:
        return False
    ids = [id(s) for s in getattr(g.parents.get(statement), "body", ())]
    return (id(statement) in ids and id(following) in ids
            and ids.index(id(following)) == ids.index(id(statement)) + 1)


def _position(g: Genome, site: Site) -> int:
    anchor = g.anchor(site)
    assert anchor.sequence is not None
    elements = (anchor.sequence.args if isinstance(anchor.sequence, cst.Call)
                else anchor.sequence.elements)
    return [id(e) for e in elements].index(id(anchor.element))


def _attribute_runs(g: Genome, live: list[Site]) -> list[LayerRun]:
    runs: list[LayerRun] = []
    for index, site in enumerate(live):
        if site.kind != "attribute" or site.type != "connection" or not _single_use(g, site):
            continue
        anchor = g.anchor(site)
        run, last = [site], _applied(g, site)
        for later in live[index + 1:]:
            if later.type not in BLOCK_TYPES or len(run) >= MAX_BLOCK:
                break
            if later.kind == "attribute" and _single_use(g, later) \
                    and g.anchor(later).method == anchor.method \
                    and g.owner_class_at(later.line) == g.owner_class_at(site.line):
                applied = _applied(g, later)
            elif later.kind == "forward_call" and later.type in ("activation", "dropout"):
                applied = _applied(g, later)  # given up: the block brings its own
            else:
                break
            if not _feeds(g, last, applied):
                break
            run.append(later)
            last = applied
        runs.append(LayerRun(tuple(run), "attribute"))
    return runs


def _single_use(g: Genome, site: Site) -> bool:
    anchor = g.anchor(site)
    return (anchor.other_uses == 0 and len(anchor.use_calls) == 1
            and is_plain_call(anchor.use_calls[0]) and anchor.use_statements[0] is not None)


def _applied(g: Genome, site: Site) -> tuple[cst.Call, cst.SimpleStatementLine | None]:
    """The call that applies the site's layer in forward, and its statement."""
    anchor = g.anchor(site)
    if site.kind == "attribute":
        return anchor.use_calls[0], anchor.use_statements[0]
    return anchor.call, anchor.statement


def _feeds(g: Genome, before: tuple[cst.Call, cst.SimpleStatementLine | None],
           after: tuple[cst.Call, cst.SimpleStatementLine | None]) -> bool:
    """Whether the call ``after`` is applied to what ``before`` gives, right after it:
    ``f(g(x))``, or ``x = g(x)`` directly followed by a statement with ``f(x)``."""
    (call, statement), (next_call, next_statement) = before, after
    if not next_call.args:
        return False
    value = next_call.args[0].value
    if value is call:
        return True
    if statement is None or next_statement is None or not isinstance(value, cst.Name):
        return False
    small = statement.body[0] if len(statement.body) == 1 else None
    if not (isinstance(small, cst.Assign) and small.value is call and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and small.targets[0].target.value == value.value):
        return False
    return _next_statement(g, statement, next_statement)


def replace_run(g: Genome, run: LayerRun, block: Block) -> Offspring | None:
    """``g`` with ``run`` replaced by ``block``, adapted to the run's widths and downsampling."""
    codes = adapted_block(run, block)
    if codes is None or _same_layers(run, codes):
        return None
    rewrite = Rewrite(g)
    calls = [layer_expression(g, code, rewrite) for code in codes]
    if any(c is None for c in calls):
        return None
    first = g.anchor(run.sites[0])
    # the block's first line says where it comes from, as an inserted block's does (none in a
    # one-line literal): the variant's changes read the replacement as one phrase by it
    credit = block_comment(block)
    if run.style == "sequential":
        assert first.sequence is not None
        start = _position(g, run.sites[0])
        # the block goes in after the run's first element, which goes last (the literal is
        # never empty) and takes its line's comment along: it described the layer replaced
        for offset in range(1, len(run.sites)):
            rewrite.remove_element(first.sequence, start + offset)
        for index, call in reversed(list(enumerate(calls))):  # the last one first
            rewrite.insert_element(first.sequence, start + 1, call,  # type: ignore[arg-type]
                                   credit if index == 0 else None)
        rewrite.remove_element(first.sequence, start)
    elif run.style == "append":
        rewrite.replace_node(first.call, calls[0])
        rewrite.replace_node(first.statement, lambda statement: credited(statement, credit))
        for site in run.sites[1:]:
            rewrite.remove_statement(g.anchor(site).statement)
        for call in calls[1:]:
            rewrite.add_statement(first.statement,
                                  new_statement(first.statement, first.call, call), after=True)
    else:
        sequential = layer_expression(g, "nn.Sequential()", rewrite)
        if sequential is None:
            return None
        rewrite.replace_node(first.call, sequential.with_changes(
            args=[cst.Arg(c) for c in calls]))  # type: ignore[misc]
        rewrite.replace_node(first.statement, lambda statement: credited(statement, credit))
        for site in run.sites[1:]:
            anchor = g.anchor(site)
            if site.kind == "attribute":
                rewrite.remove_statement(anchor.statement)
            call, statement = _applied(g, site)
            unwrap(call, statement, rewrite)
    old = " → ".join(_words(s) for s in run.sites)
    new = " → ".join(one_line(code) for code in codes)
    summary = f"replace {old} at line {run.sites[0].line} by {new}{block_from(block)}"
    return finish(g, rewrite, [Edit("replace_block", summary)])


def _words(site: Site) -> str:
    """A run member in an edit summary: ``F.relu`` for a functional call, else its code."""
    return site.code.split("(", 1)[0] if site.kind == "forward_call" else one_line(site.code)


def adapted_block(run: LayerRun, block: Block) -> list[str] | None:
    """The block's layer calls with the run's widths and downsampling; None when it cannot
    take them (a grouped convolution, a different kind of connection layer)."""
    try:
        old = [_parse(s.code) for s in run.sites]
        new = [_parse(code) for code in block.codes]
    except (SyntaxError, ValueError):
        return None
    head, layer = old[0], new[0]
    if layer_kind(head) != layer_kind(layer):
        return None
    widths = WIDTH_ARGS.get(layer_kind(head), ())
    if len(widths) != 2 or argument(layer, "groups", CONV_ARGS["groups"]) is not None:
        return None
    (in_name, in_at), (out_name, out_at) = widths
    width_in, width_out = argument(head, in_name, in_at), argument(head, out_name, out_at)
    if width_in is None or width_out is None:
        return None
    set_argument(layer, in_name, in_at, copy.deepcopy(width_in))
    set_argument(layer, out_name, out_at, copy.deepcopy(width_out))
    for norm in new[1:]:
        for name, position in WIDTH_ARGS.get(layer_kind(norm), ()):
            if name != "num_groups":
                set_argument(norm, name, position, copy.deepcopy(width_out))
    if is_conv(head):
        new = _same_downsampling(old, new)
    return [ast.unparse(call) for call in new]


def _same_downsampling(old: list[ast.Call], new: list[ast.Call]) -> list[ast.Call]:
    """``new`` changed as little as it takes to map every input size as ``old`` does."""
    old_geometry = [c for c in old if is_conv(c) or is_pool(c)]
    target = size_map(old_geometry)
    if target is not None and size_map([c for c in new if is_conv(c) or is_pool(c)]) == target:
        return new
    conv, head = new[0], old[0]
    layers = [c for c in new if not is_pool(c)]
    pools = [copy.deepcopy(c) for c in old if is_pool(c)]
    set_argument(conv, "stride", CONV_ARGS["stride"],
                 copy.deepcopy(argument(head, "stride", CONV_ARGS["stride"])))
    set_argument(conv, "dilation", CONV_ARGS["dilation"],
                 copy.deepcopy(argument(head, "dilation", CONV_ARGS["dilation"])))
    if target is not None:
        for padding in range(8):
            set_argument(conv, "padding", CONV_ARGS["padding"], ast.Constant(padding))
            if size_map([conv, *pools]) == target:
                return [*layers, *pools]
    for name in GEOMETRY:  # the run's own geometry, whatever its names mean
        set_argument(conv, name, CONV_ARGS[name],
                     copy.deepcopy(argument(head, name, CONV_ARGS[name])))
    return [*layers, *pools]


def _same_layers(run: LayerRun, codes: list[str]) -> bool:
    """Whether ``codes`` compute what the run does (``nn.ReLU(inplace=True)`` for ``F.relu``):
    a variant that would only waste a training run."""
    try:
        old = [_layer_key(_parse(s.code), s.kind == "forward_call") for s in run.sites]
        new = [_layer_key(_parse(code), False) for code in codes]
    except (SyntaxError, ValueError):
        return False
    return old == new


def _layer_key(call: ast.Call, functional: bool) -> str:
    """The layer's kind and arguments by name, without defaults, without the tensor of a
    functional call and without ``inplace`` (which changes memory use, not the function)."""
    kind = layer_kind(call).lower().replace("_", "")
    names = next((n for prefix, n in _ARGUMENT_NAMES.items() if kind.startswith(prefix)), ())
    args = call.args[1 if functional else 0:]
    given = {names[i] if i < len(names) else f"_{i}": ast.dump(a) for i, a in enumerate(args)
             if not (isinstance(a, ast.Constant) and a.value is True and i >= len(names))}
    given.update((k.arg or "**", ast.dump(k.value)) for k in call.keywords)
    for name in ("inplace", "training"):
        given.pop(name, None)
    for name, default in _DEFAULTS.items():
        if "pool" not in kind and given.get(name) == ast.dump(ast.Constant(default)):
            del given[name]
    return f"{kind}{sorted(given.items())}"


_ARGUMENT_NAMES = {
    "conv": ("in_channels", "out_channels", *CONV_ARGS, "bias"),
    "linear": ("in_features", "out_features", "bias"),
    "maxpool": ("kernel_size", "stride", "padding"),
    "avgpool": ("kernel_size", "stride", "padding"),
    "dropout": ("p",),
    "batchnorm": ("num_features", "eps", "momentum"),
}
_DEFAULTS = {"stride": 1, "padding": 0, "dilation": 1, "groups": 1, "bias": True, "p": 0.5}


def _parse(code: str) -> ast.Call:
    node = ast.parse(code.strip(), mode="eval").body
    if not isinstance(node, ast.Call):
        raise ValueError(code)
    return node
