"""Typed crossover: lines of one line type from parent B take the place of lines of that type in A.

Only the layer call moves; the receiving statement stays, so list and attribute names are A's
own (``slayers.append(nn.Linear(2*p, 100))`` lands as ``layers.append(nn.Linear(2*p, 100))``).
Names of B that A lacks are bound to B's constant values or to the value A had in the same
argument; when neither exists the crossover is dropped.
"""

from __future__ import annotations

import random

import libcst as cst

from nnevolve.genome import Genome, Site
from nnevolve.genome.canonical import bind_constants, canonicalize
from nnevolve.operators.common import (
    MODULE_KINDS,
    Edit,
    Offspring,
    code_of,
    editable_sites,
    finish,
    first_child,
    one_line,
    spelled,
)
from nnevolve.operators.dimensions import context_at, dimension
from nnevolve.operators.rewrite import Rewrite

DESCRIPTION = "Exchange a line (or a run of lines) of one line type between two parents."
MAX_RUN = 3
# the arguments that set a connection layer's output width, by position and by keyword
OUTPUT_WIDTH = {1: ("out_features", "out_channels")}


def crossover(a: Genome, b: Genome, rng: random.Random) -> Offspring | None:
    """A copy of ``a`` where a run of its lines of one type is replaced by ``b``'s, or None."""
    groups = _shared_groups(a, b)
    if not groups:
        return None

    def attempt() -> Offspring | None:
        receiving, donating = groups[rng.randrange(len(groups))]
        shortest = min(len(receiving), len(donating), MAX_RUN)
        run = 1 if shortest == 1 or rng.random() < 0.6 else rng.randint(2, shortest)
        start = rng.randrange(len(receiving) - run + 1)
        return transplant(
            a,
            b,
            receiving[start : start + run],
            donating_run(donating, len(receiving), start, run, rng),
        )

    return first_child(attempt)


def _shared_groups(a: Genome, b: Genome) -> list[tuple[list[Site], list[Site]]]:
    """Pairs (A's sites, B's sites) of one line type and form, each in forward order."""
    groups = []
    for form in ("module", "functional"):
        for type_ in sorted({s.type for s in editable_sites(a)}):
            mine = a.in_flow_order(
                [s for s in editable_sites(a) if _form(s) == form and s.type == type_]
            )
            theirs = b.in_flow_order(
                [s for s in editable_sites(b) if _form(s) == form and s.type == type_]
            )
            if mine and theirs:
                groups.append((mine, theirs))
    return groups


def _form(site: Site) -> str:
    return "module" if site.kind in MODULE_KINDS else "functional"


def donating_run(
    donating: list[Site], receiving_count: int, start: int, run: int, rng: random.Random
) -> list[Site]:
    """B's run at the position homologous to A's (same relative depth), now and then anywhere."""
    last_start = len(donating) - run
    if receiving_count > run and rng.random() < 0.8:
        position = round(start * last_start / (receiving_count - run))
    else:
        position = rng.randint(0, last_start)
    return donating[position : position + run]


def transplant(
    a: Genome, b: Genome, receiving: list[Site], donating: list[Site]
) -> Offspring | None:
    """``a`` with the calls of ``receiving`` replaced one by one by those of ``donating`` (from ``b``)."""
    rewrite = Rewrite(a)
    output = a.output_site()
    changed = []
    for mine, theirs in zip(receiving, donating, strict=True):
        if mine.type != theirs.type or _form(mine) != _form(theirs) or not _fits(a, mine, theirs):
            return None
        call = adapt(a, mine, b, theirs, keep_output_width=mine == output)
        if call is None:
            return None
        call = spelled(call, a, rewrite)
        if call is None:
            return None
        anchor = a.anchor(mine).call
        new_code = code_of(rewrite.replace_call(anchor, call,
                                                functional=mine.kind == "forward_call"))
        if one_line(new_code) != one_line(mine.code):
            changed.append((mine, new_code))
    if not changed:
        return None
    return finish(a, rewrite, [Edit("crossover", _summary(changed, receiving[0].type))])


def _fits(a: Genome, mine: Site, theirs: Site) -> bool:
    """Whether B's layer can work on the data at A's position.

    A spatial layer (Conv2d, MaxPool2d, ...) needs data of its own dimension. A flat layer
    (Linear) may land in a convolutional stack built as a list or Sequential, where the repair
    step inserts a Flatten before it; a functional forward pass it cannot rewrite that way.
    """
    wanted = dimension(theirs.name)
    if wanted is None:
        return True
    context = dimension(mine.name) or context_at(a, mine, after=False)
    if wanted == "flat":
        return context in (None, "flat") or mine.kind in ("append", "sequential")
    return context in (None, wanted)


def adapt(
    a: Genome, mine: Site, b: Genome, theirs: Site, *, keep_output_width: bool = False
) -> cst.Call | None:
    """B's call at ``theirs``, made valid at A's ``mine``: canonical callee, names bound, or None."""
    call = canonicalize(b.anchor(theirs).call, theirs.name)
    if call is None:
        return None
    receiver = a.scope_at(mine.line)
    donor = b.scope_at(theirs.line)
    own = a.anchor(mine).call
    functional = mine.kind == "forward_call"
    args = []
    for position, arg in enumerate(call.args):
        if functional and position == 0:
            args.append(arg)  # the tensor argument comes from A (see splice_functional)
            continue
        role = _same_role(own, position, arg)
        if keep_output_width and role is not None and _is_output_width(position, arg):
            args.append(arg.with_changes(value=role.value))
            continue
        single = call.with_changes(args=[arg])
        bound, unbound = bind_constants(single, donor, receiver)
        if not unbound:
            args.append(bound.args[0])
        elif role is not None:
            # the argument A had in the same role is valid in A by construction
            args.append(arg.with_changes(value=role.value))
        else:
            return None
    return call.with_changes(args=args)


def _same_role(call: cst.Call, position: int, arg: cst.Arg) -> cst.Arg | None:
    """The argument of ``call`` that plays the part ``arg`` plays in its own call."""
    if arg.keyword is not None:
        return next(
            (a for a in call.args if a.keyword and a.keyword.value == arg.keyword.value), None
        )
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[position] if position < len(positional) else None


def _is_output_width(position: int, arg: cst.Arg) -> bool:
    if arg.keyword is not None:
        return arg.keyword.value in OUTPUT_WIDTH[1]
    return position == 1


def _summary(changed: list[tuple[Site, str]], type_: str) -> str:
    if len(changed) == 1:
        site, code = changed[0]
        return (
            f"crossover: line {site.line} {one_line(site.code)} → {one_line(code)}"
            f" ({type_} line from parent B)"
        )
    lines = ", ".join(str(site.line) for site, _ in changed)
    return f"crossover: {len(changed)} {type_} lines from parent B at lines {lines}"
