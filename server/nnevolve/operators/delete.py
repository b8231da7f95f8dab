"""Deletion: remove one typed line while keeping the program valid.

An appended layer or a Sequential element simply goes (a list or literal always keeps one
layer). An attribute goes together with its uses in ``forward`` (``x = self.drop(x)`` vanishes,
``F.relu(self.fc1(x))`` becomes ``F.relu(x)``); when a use is more than a plain call, the layer
becomes ``nn.Identity()`` instead. A functional call in ``forward`` gives way to its argument.
The output layer, the last connection layer and reshape lines are never deleted.
"""

from __future__ import annotations

import random

import libcst as cst

from nnevolve.genome import Genome, Site
from nnevolve.operators.common import (
    Edit,
    Offspring,
    choose,
    editable_sites,
    finish,
    layer_expression,
    one_line,
)
from nnevolve.operators.rewrite import Rewrite

DESCRIPTION = "Delete a typed line, keeping the program valid."


def delete(g: Genome, rng: random.Random) -> Offspring | None:
    """``g`` without one randomly chosen deletable line, or None when no line may go."""
    candidates = deletable_sites(g)
    while candidates:
        site = choose(rng, candidates)
        assert site is not None
        offspring = delete_site(g, site)
        if offspring is not None:
            return offspring
        candidates.remove(site)
    return None


def deletable_sites(g: Genome) -> list[Site]:
    """The sites whose deletion leaves a network: not the output, not the last connection."""
    output = g.output_site()
    connections = [s for s in g.live_sites() if s.type == "connection" and s.kind != "forward_call"]
    found = []
    for site in editable_sites(g):
        if site == output or (site.type == "connection" and len(connections) <= 1):
            continue
        if (
            site.kind == "append"
            and sum(s.kind == "append" and s.container == site.container for s in g.sites) < 2
        ):
            continue  # the list keeps at least one layer
        if site.kind == "sequential" and _element_count(g, site) < 2:
            continue  # never leave an empty Sequential
        if site.kind in ("returned", "local"):
            continue  # used as a value: nothing could take its place
        found.append(site)
    return found


def _element_count(g: Genome, site: Site) -> int:
    sequence = g.anchor(site).sequence
    if isinstance(sequence, cst.Call):
        return sum(1 for a in sequence.args if not a.star and a.keyword is None)
    return len(sequence.elements) if sequence is not None else 0


def delete_site(g: Genome, site: Site) -> Offspring | None:
    """``g`` without ``site``; None when the site cannot go without breaking the program."""
    if site.kind in ("returned", "local"):
        return None  # the value is used as it is: nothing could take its place
    rewrite = Rewrite(g)
    anchor = g.anchor(site)
    code = one_line(site.code)
    if site.kind == "append":
        rewrite.remove_statement(anchor.statement)
        summary = f"delete {code} at line {site.line}"
    elif site.kind == "sequential":
        assert anchor.sequence is not None
        elements = (
            anchor.sequence.args
            if isinstance(anchor.sequence, cst.Call)
            else anchor.sequence.elements
        )
        position = [id(e) for e in elements].index(id(anchor.element))
        rewrite.remove_element(anchor.sequence, position)
        summary = f"delete {code} at line {site.line}"
    elif site.kind == "attribute":
        words = _delete_attribute(g, site, rewrite)
        if words is None:
            return None
        summary = words
    else:
        unwrap(anchor.call, anchor.statement, rewrite)
        summary = f"delete {code} at line {site.line}"
    return finish(g, rewrite, [Edit("delete", summary)])


def _delete_attribute(g: Genome, site: Site, rewrite: Rewrite) -> str | None:
    anchor = g.anchor(site)
    plain = anchor.other_uses == 0 and all(is_plain_call(c) for c in anchor.use_calls)
    if not plain:
        identity = layer_expression(g, "nn.Identity()", rewrite)
        if identity is None:
            return None
        rewrite.replace_node(anchor.call, identity)
        return f"replace self.{site.container} = {one_line(site.code)} by nn.Identity() at line {site.line}"
    rewrite.remove_statement(anchor.statement)
    for call, statement in zip(anchor.use_calls, anchor.use_statements):
        unwrap(call, statement, rewrite)
    uses = f" and its {len(site.uses)} use{'s' if len(site.uses) != 1 else ''}" if site.uses else ""
    return f"delete self.{site.container} = {one_line(site.code)} at line {site.line}{uses}"


def is_plain_call(call: cst.Call) -> bool:
    """``self.x(h)``: one positional argument, nothing else."""
    return len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star


def unwrap(call: cst.Call, statement: cst.SimpleStatementLine | None, rewrite: Rewrite) -> None:
    """Make ``call`` give way to its first argument; ``x = f(x)`` goes altogether."""
    argument = call.args[0].value
    if statement is not None and _is_self_update(statement, call, argument):
        rewrite.remove_statement(statement)
        return
    rewrite.replace_node(call, lambda updated: _first_argument(updated))


def _first_argument(call: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(call, cst.Call)
    value = call.args[0].value
    # keep parentheses that wrapped the call (e.g. `(f(x))`) on the argument
    return value.with_changes(lpar=[*call.lpar, *value.lpar], rpar=[*value.rpar, *call.rpar])


def _is_self_update(
    statement: cst.SimpleStatementLine, call: cst.Call, argument: cst.BaseExpression
) -> bool:
    """Whether ``statement`` is ``x = call(x, ...)`` with the call as the whole value."""
    if len(statement.body) != 1 or not isinstance(statement.body[0], cst.Assign):
        return False
    assign = statement.body[0]
    if assign.value is not call or len(assign.targets) != 1:
        return False
    target = assign.targets[0].target
    return (
        isinstance(target, cst.Name)
        and isinstance(argument, cst.Name)
        and target.value == argument.value
    )
