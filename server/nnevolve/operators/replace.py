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
    ATTEMPTS,
    Edit,
    Offspring,
    code_of,
    editable_sites,
    finish,
    layer_expression,
    one_line,
)
from nnevolve.operators.dimensions import context_at, dimension, fits
from nnevolve.operators.rewrite import Rewrite, splice_functional, splice_with

DESCRIPTION = "Replace a typed line by another line of the same type from the gene pool."


def replace(g: Genome, rng: random.Random, pool: GenePool) -> Offspring | None:
    """``g`` with one line replaced by a gene of the same type, or None."""
    output = g.output_site()
    sites = [s for s in editable_sites(g) if s != output]
    if not sites:
        return None
    for _ in range(ATTEMPTS):
        site = rng.choice(sites)
        gene = pool.sample(
            site.type, rng, functional=site.kind == "forward_call", accept=_acceptable(g, site)
        )
        if gene is None:
            continue
        offspring = replace_site(g, site, gene)
        if offspring is not None:
            return offspring
    return None


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


def replace_site(g: Genome, site: Site, gene: Gene) -> Offspring | None:
    """``g`` with the call at ``site`` replaced by ``gene``."""
    if gene.type != site.type or gene.functional != (site.kind == "forward_call"):
        return None
    rewrite = Rewrite(g)
    call = layer_expression(g, gene.code, rewrite)
    if call is None:
        return None
    anchor = g.anchor(site).call
    if site.kind == "forward_call":
        rewrite.replace_node(anchor, splice_with(call))
        new_code = code_of(splice_functional(anchor, call))
    else:
        rewrite.replace_node(anchor, call)
        new_code = code_of(call)
    summary = f"replace {one_line(site.code)} by {one_line(new_code)} at line {site.line}"
    return finish(g, rewrite, [Edit("replace", summary)])
