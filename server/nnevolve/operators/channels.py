"""The width of the data at an insertion point, as code valid there: what a block inserted
there takes as its input and output width so that the rest of the network is unchanged."""

from __future__ import annotations

import ast

import libcst as cst

from nnevolve.genome import Genome, Site
from nnevolve.operators.geometry import argument
from nnevolve.operators.insert import InsertionPoint
from nnevolve.operators.replace import WIDTH_ARGS

PASS_THROUGH = frozenset({"activation", "dropout", "pooling"})  # keep the width


def channels_at(g: Genome, point: InsertionPoint) -> str | None:
    """The channel count of the data after ``point``'s layer, as code valid there: the width
    of the convolution or normalization before it (through activations, pooling and dropout)
    in the same literal or layer list, or, in ``forward``, in a chain of statements that only
    apply layers (``x = self.pool(F.relu(self.conv1(x)))``) or add to the data in place
    (``out += self.shortcut(x)``); in a literal or list, failing
    that, the input width of the layer after it (``nn.Linear(hidden * 4 * 4, 64)`` after a
    Flatten); None when it cannot be told."""
    if point.style == "forward":
        candidates = _forward_chain(g, point.statement)
    else:
        ordered = g.in_flow_order(g.live_sites())
        if point.site not in ordered:
            return None
        here = ordered.index(point.site)
        candidates = [s for s in ordered[: here + 1] if _same_place(g, s, point)]
        found = _width_before(g, point, candidates)
        if found is None:
            found = _width_after(g, point, [s for s in ordered[here + 1:]
                                            if _same_place(g, s, point)])
        return found
    return _width_before(g, point, candidates)


def _width_after(g: Genome, point: InsertionPoint, following: list[Site]) -> str | None:
    """The input width of the first layer after the point that has one, through activations,
    pooling and dropout, in the same literal or list."""
    for site in following:
        if site.type in PASS_THROUGH:
            continue
        try:
            call = ast.parse(site.code.strip(), mode="eval").body
        except SyntaxError:
            return None
        widths = WIDTH_ARGS.get(site.name.rsplit(".", 1)[-1], ())
        if not isinstance(call, ast.Call) or not widths or site.type not in (
                "connection", "normalization"):
            return None
        name, position = widths[0] if site.type == "connection" else widths[-1]
        width = argument(call, name, position)
        if width is None or isinstance(width, ast.Constant) and not isinstance(width.value, int):
            return None
        return ast.unparse(width)
    return None


def _width_before(g: Genome, point: InsertionPoint, candidates: list[Site]) -> str | None:
    """The output width of the last layer of ``candidates`` that has one (through
    activations, pooling and dropout)."""
    for site in reversed(candidates):
        if site.type in PASS_THROUGH:
            continue
        found = out_width(site)
        if found is None:
            return None
        name, width = found
        if point.style == "forward" and site.kind == "attribute" and _same_place(g, site, point):
            # read when the block is built: it follows later width edits
            return f"self.{site.container}.{name}"
        if isinstance(width, ast.Constant) or _same_place(g, site, point):
            return ast.unparse(width)
        return None
    return None


def _forward_chain(g: Genome, statement: cst.SimpleStatementLine | None) -> list[Site]:
    """The sites applied by ``statement`` and the statements right before it that feed it,
    in forward order, as long as each only applies layers to the variable it assigns."""
    chain: list[Site] = []
    while statement is not None:
        applied = [] if _adds_in_place(statement) else _applied_sites(g, statement)
        if applied is None:
            break
        chain = applied + chain
        block = getattr(g.parents.get(statement), "body", ())
        ids = [id(s) for s in block]
        index = ids.index(id(statement)) if id(statement) in ids else 0
        previous = block[index - 1] if index > 0 else None
        statement = previous if isinstance(previous, cst.SimpleStatementLine) else None
    return chain


def _adds_in_place(statement: cst.SimpleStatementLine) -> bool:
    """Whether ``statement`` is ``v += ...`` (or ``-=``, ``*=``): ``v`` keeps its shape, so
    its channels (a residual's ``out += self.shortcut(x)``)."""
    small = statement.body[0] if len(statement.body) == 1 else None
    return (isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name)
            and isinstance(small.operator, (cst.AddAssign, cst.SubtractAssign,
                                            cst.MultiplyAssign)))


def _applied_sites(g: Genome, statement: cst.SimpleStatementLine) -> list[Site] | None:
    """The sites of ``v = f(g(v))`` when every call of it applies a site's layer."""
    small = statement.body[0] if len(statement.body) == 1 else None
    if not isinstance(small, cst.Assign):
        return None
    calls: dict[int, Site] = {}
    for site in g.sites:
        anchor = g.anchor(site)
        if site.kind == "attribute":
            calls.update((id(c), site) for c, st in zip(anchor.use_calls, anchor.use_statements)
                         if st is statement)
        elif site.kind == "forward_call" and anchor.statement is statement:
            calls[id(anchor.call)] = site
    found: list[Site] = []
    value: cst.BaseExpression = small.value
    while isinstance(value, cst.Call) and id(value) in calls and value.args:
        found.insert(0, calls[id(value)])
        value = value.args[0].value
    return found if found and isinstance(value, cst.Name) else None


def out_width(site: Site) -> tuple[str, ast.expr] | None:
    """The output width argument of a convolution, linear layer or normalization: its name
    (the layer's attribute of the same name) and its value."""
    try:
        call = ast.parse(site.code.strip(), mode="eval").body
    except SyntaxError:
        return None
    kind = site.name.rsplit(".", 1)[-1]
    if not isinstance(call, ast.Call) or site.kind == "forward_call":
        return None
    widths = WIDTH_ARGS.get(kind, ())
    if site.type == "connection" and kind.startswith(("Conv", "Linear")) and len(widths) == 2:
        name, position = widths[1]
    elif site.type == "normalization" and widths and kind != "LayerNorm":
        name, position = widths[-1]
    else:
        return None
    value = argument(call, name, position)
    if value is None or isinstance(value, ast.Constant) and not isinstance(value.value, int):
        return None
    return name, value


def _same_place(g: Genome, site: Site, point: InsertionPoint) -> bool:
    """Whether ``site``'s names mean the same where the block goes: the same literal or
    layer list, or a ``self`` attribute of the ``__init__`` the block's attribute joins."""
    here, there = g.anchor(site), g.anchor(point.site)
    if point.style == "sequential":
        return site.kind == "sequential" and here.sequence is there.sequence
    if point.style == "append":
        return site.kind == "append" and site.container == point.site.container \
            and here.method == there.method
    return (site.kind == "attribute" and here.method == "__init__"
            and g.owner_class_at(site.line) == g.owner_class_at(point.site.line))
