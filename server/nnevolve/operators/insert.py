"""Insertion: a typed line from the gene pool at a legal position of the model class.

Legal positions: next to a ``layers.append(...)`` statement (a new append to the same list),
next to an element of an ``nn.Sequential``/``nn.ModuleList`` literal, or, in ``forward``, after
a statement ``x = ...`` that runs a layer: a functional call ``x = F.relu(x)``, or a new
attribute ``self.act1 = nn.ReLU()`` used as ``x = self.act1(x)``; where the layers are
nested in one expression (``return self.out(self.act(self.hidden(x)))``), around a layer's
call: ``self.act1(self.hidden(x))`` / ``F.relu(self.hidden(x))``. Nothing goes after the
layer that produces the network's output.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass

import libcst as cst

from nnevolve.gene_pool import Gene, GenePool
from nnevolve.genome import Genome, Site
from nnevolve.operators.common import (
    Edit,
    Offspring,
    finish,
    first_child,
    from_where,
    layer_expression,
    one_line,
)
from nnevolve.operators.dimensions import context_at, fits
from nnevolve.operators.rewrite import Rewrite, new_statement

DESCRIPTION = "Insert a typed line from the gene pool at a legal position."
# how often each line type is inserted: activations and regularizers more than new layers
INSERT_WEIGHTS = {"activation": 3, "dropout": 2, "normalization": 2, "connection": 2, "pooling": 1}
ATTRIBUTE_PREFIX = {
    "activation": "act",
    "dropout": "drop",
    "normalization": "norm",
    "pooling": "pool",
    "residual": "block",
}


@dataclass(frozen=True)
class InsertionPoint:
    """Where a new line may go: next to ``site`` (append / sequential) or after a forward statement."""

    site: Site
    after: bool
    style: str  # "append" | "sequential" | "forward" | "wrap"
    context: str | None  # data dimension there: "2d", "flat", ... (None: unknown)
    statement: cst.SimpleStatementLine | None = None  # forward: insert after this statement
    variable: str = ""  # forward: the tensor variable the statement assigns
    use: cst.Call | None = None  # wrap: the layer's call ``self.x(...)`` the new one takes


def insert(g: Genome, rng: random.Random, pool: GenePool) -> Offspring | None:
    """``g`` with one gene of the pool inserted at a random legal position, or None."""
    points = insertion_points(g)
    if not points:
        return None

    def attempt() -> Offspring | None:
        point = rng.choice(points)
        in_forward = point.style in ("forward", "wrap")
        functional = in_forward and rng.random() < 0.5
        gene = _draw(pool, rng, point, functional)
        if gene is None and in_forward:
            gene = _draw(pool, rng, point, not functional)
        return None if gene is None else insert_at(g, point, gene)

    return first_child(attempt)


def _draw(
    pool: GenePool, rng: random.Random, point: InsertionPoint, functional: bool
) -> Gene | None:
    """A gene that fits the point's data, of a type drawn by :data:`INSERT_WEIGHTS`."""

    def accept(gene: Gene) -> bool:
        # a second activation (or dropout, norm) right next to one is wasted compute
        return fits(gene.code.split("(", 1)[0], point.context) and not (
            gene.type == point.site.type and gene.type != "connection"
        )

    types = list(INSERT_WEIGHTS)
    weights = [INSERT_WEIGHTS[t] for t in types]
    while types:
        type_ = rng.choices(types, weights)[0]
        gene = pool.sample(type_, rng, functional=functional, accept=accept)
        if gene is not None:
            return gene
        index = types.index(type_)
        del types[index], weights[index]
    return None


def insertion_points(g: Genome) -> list[InsertionPoint]:
    """Every legal insertion point of ``g``, in site order."""
    output = g.output_site()
    output_flow = g.anchor(output).flow if output is not None else None
    points: list[InsertionPoint] = []
    seen: set[int] = set()
    firsts = _first_of_each_container(g)
    for site in g.live_sites():
        if site.kind in ("append", "sequential"):
            # "before" a site is "after" its predecessor, except at the start of a container
            for after in (False, True) if site in firsts else (True,):
                if after and site == output:
                    continue
                points.append(
                    InsertionPoint(site, after, site.kind, context_at(g, site, after=after))
                )
            continue
        if site.kind in ("returned", "local"):
            continue  # a helper's value, not a step of the forward pass
        anchor = g.anchor(site)
        statements = anchor.use_statements if site.kind == "attribute" else (anchor.statement,)
        points += _wrap_points(g, site, output_flow)
        for statement in statements:
            variable = _assigned_name(statement)
            if statement is None or variable is None or id(statement) in seen:
                continue
            seen.add(id(statement))
            last = _last_site_of(g, statement)
            if output_flow is not None and g.anchor(last).flow >= output_flow:
                continue
            context = context_at(g, last, after=True)
            points.append(InsertionPoint(last, True, "forward", context, statement, variable))
    return points + _before_forward(g, points)


def _before_forward(g: Genome, points: list[InsertionPoint]) -> list[InsertionPoint]:
    """Before forward's first layer statement when it takes the input as it reassigns it
    (``x = self.flatten(x)``): the only place a layer can see the input's own shape."""
    forward = _forward_method(g)
    if forward is None or len(forward.args.args) < 2:
        return []
    lines = range(forward.lineno, (forward.end_lineno or forward.lineno) + 1)
    inside = [p for p in points if p.style == "forward" and p.statement is not None
              and g.line_of(p.statement) in lines]
    if not inside:
        return []
    first = min(inside, key=lambda p: g.line_of(p.statement))  # type: ignore[arg-type]
    if first.variable != forward.args.args[1].arg:
        return []
    site = next(s for s in g.in_flow_order() if first.statement is g.anchor(s).statement
                or first.statement in g.anchor(s).use_statements)
    return [InsertionPoint(site, False, "forward", context_at(g, site, after=False),
                           first.statement, first.variable)]


def _forward_method(g: Genome) -> ast.FunctionDef | None:
    """The model class's own ``forward``."""
    for node in g.tree.body:
        if isinstance(node, ast.ClassDef) and node.name == g.class_name:
            for method in node.body:
                if isinstance(method, ast.FunctionDef) and method.name == "forward":
                    return method
    return None


def _wrap_points(g: Genome, site: Site, output_flow: object) -> list[InsertionPoint]:
    """Around each use of an attribute layer inside a statement that assigns no variable
    (``return self.out(self.act(self.hidden(x)))``): the only places such a forward has."""
    if site.kind != "attribute":
        return []
    anchor = g.anchor(site)
    if output_flow is not None and anchor.flow >= output_flow:
        return []
    context = context_at(g, site, after=True)
    return [InsertionPoint(site, True, "wrap", context, statement, use=call)
            for call, statement in zip(anchor.use_calls, anchor.use_statements, strict=False)
            if statement is not None and _assigned_name(statement) is None]


def _first_of_each_container(g: Genome) -> list[Site]:
    firsts: dict[int, Site] = {}
    for site in g.in_flow_order([s for s in g.live_sites() if s.kind in ("append", "sequential")]):
        anchor = g.anchor(site)
        # append sites share their list by name; elements share their literal node
        key = hash(site.container) if site.kind == "append" else id(anchor.sequence)
        firsts.setdefault(key, site)
    return list(firsts.values())


def _assigned_name(statement: cst.SimpleStatementLine | None) -> str | None:
    """``x`` for a statement ``x = <expression>``."""
    if statement is None or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        if isinstance(target, cst.Name):
            return target.value
    return None


def _last_site_of(g: Genome, statement: cst.SimpleStatementLine) -> Site:
    """The site of ``statement`` that the forward pass reaches last."""
    members = [
        s
        for s in g.sites
        if g.anchor(s).statement is statement or statement in g.anchor(s).use_statements
    ]
    return g.in_flow_order(members)[-1]


def insert_at(g: Genome, point: InsertionPoint, gene: Gene) -> Offspring | None:
    """``g`` with ``gene`` inserted at ``point``; None when it cannot be made valid there."""
    rewrite = Rewrite(g)
    anchor = g.anchor(point.site)
    side = "after" if point.after else "before"
    where = f"{side} line {point.site.line}"
    if point.style == "sequential":
        where = f"{side} {one_line(point.site.code)} at line {point.site.line}"
    if point.style in ("forward", "wrap"):
        assert point.statement is not None
        added = _insert_in_forward(g, point, gene, rewrite)
        if added is None:
            return None
        where = f"{side} line {g.line_of(point.statement)}"
        if point.style == "wrap":
            where = f"after self.{point.site.container} at line {g.line_of(point.statement)}"
        summary = f"insert {added} {where}{from_where(gene)}"
        return finish(g, rewrite, [Edit("insert", summary)])
    call = layer_expression(g, gene.code, rewrite)
    if call is None:
        return None
    if point.style == "append":
        statement = new_statement(anchor.statement, anchor.call, call)
        rewrite.add_statement(anchor.statement, statement, after=point.after)
    else:
        assert anchor.sequence is not None and anchor.element is not None
        elements = (
            anchor.sequence.args
            if isinstance(anchor.sequence, cst.Call)
            else anchor.sequence.elements
        )
        position = [id(e) for e in elements].index(id(anchor.element)) + (1 if point.after else 0)
        rewrite.insert_element(anchor.sequence, position, call)
    return finish(g, rewrite, [Edit("insert", f"insert {gene.code} {where}{from_where(gene)}")])


def _insert_in_forward(
    g: Genome, point: InsertionPoint, gene: Gene, rewrite: Rewrite
) -> str | None:
    """Add the forward-pass line(s) for ``gene``; returns the words for the summary."""
    assert point.statement is not None
    call = layer_expression(g, gene.code, rewrite)
    if call is None:
        return None
    variable = cst.Name(point.variable or "x")  # wrap points assign no variable
    taken = point.use if point.use is not None else variable  # what the new layer takes
    if gene.functional:
        if not call.args:
            return None
        call = call.with_changes(args=[call.args[0].with_changes(value=taken), *call.args[1:]])
        if point.use is not None:
            rewrite.replace_node(point.use, call)
        else:
            rewrite.add_statement(point.statement, assignment(variable, call), after=point.after)
        return gene.code
    registered_after = init_anchor(g, point)
    if registered_after is None:
        return None
    name = new_attribute(g, gene.type, point.context)
    attribute = cst.Attribute(cst.Name("self"), cst.Name(name))
    rewrite.add_statement(registered_after, assignment(attribute, call), after=True)
    use = cst.Call(func=attribute, args=[cst.Arg(taken)])
    if point.use is not None:
        rewrite.replace_node(point.use, use)
    else:
        rewrite.add_statement(point.statement, assignment(variable, use), after=point.after)
    return f"self.{name} = {gene.code}"


def assignment(target: cst.BaseAssignTargetExpression,
               value: cst.BaseExpression) -> cst.SimpleStatementLine:
    """The statement ``target = value``."""
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)])


def init_anchor(g: Genome, point: InsertionPoint) -> cst.BaseStatement | None:
    """The ``__init__`` statement a new attribute is registered after: in the ``__init__`` of
    the class whose ``forward`` holds the point, at the top level of its body (in an ``if``
    it would exist on one branch only), after the registration of the last attribute the
    point's statement uses (every layer its width may read, ``self.conv1.out_channels``,
    exists by then), else after the last statement that registers an attribute; None when
    that class has no ``__init__``."""
    owner = point.statement
    while owner is not None and not isinstance(owner, cst.ClassDef):
        owner = g.parents.get(owner)
    init = None if owner is None else next(
        (m for m in owner.body.body
         if isinstance(m, cst.FunctionDef) and m.name.value == "__init__"), None)
    if init is None or not isinstance(init.body, cst.IndentedBlock) or not init.body.body:
        return None
    body = list(init.body.body)
    used = [
        _top_level(g, g.anchor(s).statement, init.body)
        for s in g.sites
        if s.kind == "attribute" and point.statement in g.anchor(s).use_statements
    ]
    used = [s for s in used if s is not None]
    if used:
        position = {id(statement): index for index, statement in enumerate(body)}
        return max(used, key=lambda s: position[id(s)])
    registering = [s for s in body if _registers_attribute(s)]
    return (registering or body)[-1]


def _top_level(g: Genome, node: cst.CSTNode | None, block: cst.IndentedBlock
               ) -> cst.BaseStatement | None:
    """The statement of ``block`` that holds ``node``; None when it is not under ``block``."""
    while node is not None and g.parents.get(node) is not block:
        node = g.parents.get(node)
    return node if isinstance(node, cst.BaseStatement) else None


def _registers_attribute(statement: cst.BaseStatement) -> bool:
    """Whether ``statement`` (or a block under it) assigns a ``self`` attribute."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            nonlocal found
            target = node.target
            found = found or (isinstance(target, cst.Attribute)
                              and isinstance(target.value, cst.Name)
                              and target.value.value == "self")

    statement.visit(Finder())
    return found


def new_attribute(g: Genome, type_: str, context: str | None,
                  also_taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A fresh ``self`` attribute name for a new layer, such as ``act1`` or ``drop2``
    (none of ``also_taken`` either: names given in the same edit)."""
    taken = set(also_taken) | {
        node.attr
        for node in ast.walk(g.tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }
    prefix = ATTRIBUTE_PREFIX.get(type_, "layer")
    if type_ == "connection":
        prefix = {"flat": "fc", "2d": "conv", "1d": "conv"}.get(context or "", "layer")
    number = 1
    while f"{prefix}{number}" in taken:
        number += 1
    return f"{prefix}{number}"
