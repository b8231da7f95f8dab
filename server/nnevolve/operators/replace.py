"""Replacement: one typed line gives way to another line of the same type from the gene pool.

A layer is replaced by a layer that works on the same data (a Conv2d by a Conv2d, a Linear by
a Linear, an activation by any activation); a functional call in ``forward`` by a functional
call, keeping the tensor it was applied to. The output layer is left alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import libcst as cst

from nnevolve.gene_pool import Gene, GenePool
from nnevolve.gene_pool.pool import normalize_gene_code
from nnevolve.genome import Genome, Site
from nnevolve.genome.canonical import FUNCTIONAL_DATA, canonicalize
from nnevolve.operators.common import (
    Edit,
    Offspring,
    code_of,
    editable_sites,
    finish,
    first_child,
    from_where,
    layer_expression,
    one_line,
)
from nnevolve.operators.dimensions import context_at, dimension, fits
from nnevolve.operators.rewrite import Rewrite

DESCRIPTION = "Replace a typed line by another line of the same type from the gene pool."


def replace(g: Genome, rng: random.Random, pool: GenePool) -> Offspring | None:
    """``g`` with one line replaced by a gene of the same type, or None."""
    output = g.output_site()
    sites = [s for s in editable_sites(g) if s != output]
    if not sites:
        return None

    def attempt() -> Offspring | None:
        site = rng.choice(sites)
        gene = pool.sample(
            site.type, rng, functional=site.kind == "forward_call", accept=_acceptable(g, site)
        )
        return None if gene is None else replace_site(g, site, gene)

    return first_child(attempt)


def _acceptable(g: Genome, site: Site) -> Callable[[Gene], bool]:
    """Genes that differ from the site's line and work on the same data."""
    current = canonical_code(g, site)
    context = dimension(site.name) or context_at(g, site, after=False)
    return lambda gene: gene.code != current and fits(gene.code.split("(", 1)[0], context)


def canonical_code(g: Genome, site: Site) -> str | None:
    """The site's call as the gene pool would store it (``F.relu(x)`` for functional calls)."""
    call = canonicalize(g.anchor(site).call, site.name)
    if call is None:
        return None
    if site.kind == "forward_call":
        data = call.args[0].with_changes(value=cst.Name(FUNCTIONAL_DATA))
        call = call.with_changes(args=[data, *call.args[1:]])
    try:
        return normalize_gene_code(code_of(call))
    except ValueError:
        return None


# width parameters by layer family, with their positions: a replacement keeps the old
# layer's width expressions where they are not plain numbers (a block built for many widths)
WIDTH_ARGS: dict[str, tuple[tuple[str, int], ...]] = {
    **{f"Conv{d}": (("in_channels", 0), ("out_channels", 1)) for d in ("1d", "2d", "3d")},
    **{f"ConvTranspose{d}": (("in_channels", 0), ("out_channels", 1)) for d in ("1d", "2d", "3d")},
    "Linear": (("in_features", 0), ("out_features", 1)),
    **{f"{n}Norm{d}": (("num_features", 0),) for n in ("Batch", "Instance") for d in ("1d", "2d", "3d")},
    "GroupNorm": (("num_channels", 1),),
    "LayerNorm": (("normalized_shape", 0),),
}
_SAME_WIDTH = {"num_features": "num_channels", "num_channels": "num_features"}


def _argument(call: cst.Call, name: str, position: int) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[position] if position < len(positional) else None


def keep_symbolic_widths(old: cst.Call, new: cst.Call) -> cst.Call:
    """``new`` with the old layer's width expressions where those refer to names
    (``nn.BatchNorm2d(planes)`` → ``nn.GroupNorm(4, planes)``, not a number that fits one
    instance of a block and breaks the others)."""
    old_kind = code_of(old.func).rsplit(".", 1)[-1]
    new_kind = code_of(new.func).rsplit(".", 1)[-1]
    old_widths = dict(WIDTH_ARGS.get(old_kind, ()))
    args = list(new.args)
    for name, position in WIDTH_ARGS.get(new_kind, ()):
        source_name = name if name in old_widths else _SAME_WIDTH.get(name)
        if source_name not in old_widths:
            continue
        old_arg = _argument(old, source_name, old_widths[source_name])
        if old_arg is None or isinstance(old_arg.value, cst.Integer):
            continue
        target = _argument(new, name, position)
        if target is None:
            continue
        index = next(i for i, a in enumerate(new.args) if a is target)
        args[index] = target.with_changes(value=old_arg.value)
    return new.with_changes(args=args)


def replace_site(g: Genome, site: Site, gene: Gene) -> Offspring | None:
    """``g`` with the call at ``site`` replaced by ``gene``."""
    if gene.type != site.type or gene.functional != (site.kind == "forward_call"):
        return None
    rewrite = Rewrite(g)
    call = layer_expression(g, gene.code, rewrite)
    if call is None:
        return None
    anchor = g.anchor(site).call
    if site.kind != "forward_call":
        call = keep_symbolic_widths(anchor, call)
    new_code = code_of(rewrite.replace_call(anchor, call, functional=site.kind == "forward_call"))
    summary = f"replace {one_line(site.code)} by {one_line(new_code)} at line {site.line}"
    return finish(g, rewrite, [Edit("replace", summary + from_where(gene))])
