"""The gene pool: typed layer lines harvested from the workspace, the samples and a catalog."""

from __future__ import annotations

from nnevolve.gene_pool.catalog import BUILTIN_GENES
from nnevolve.gene_pool.pool import (
    GENE_TYPES,
    Gene,
    GenePool,
    default_gene_pool,
    harvest_genes,
    workspace_root,
)

__all__ = [
    "BUILTIN_GENES",
    "GENE_TYPES",
    "Gene",
    "GenePool",
    "default_gene_pool",
    "harvest_genes",
    "workspace_root",
]
