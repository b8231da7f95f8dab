"""The genome: a model file's source text (the genotype) and the typed sites edits may touch."""

from __future__ import annotations

from nnevolve.genome.errors import GenomeError
from nnevolve.genome.model_classes import default_model_class, model_classes
from nnevolve.genome.normalize import normalize_source, source_hash, variant_hash
from nnevolve.genome.sites import SITE_KINDS, Anchor, Genome, Site

__all__ = [
    "SITE_KINDS",
    "Anchor",
    "Genome",
    "GenomeError",
    "Site",
    "default_model_class",
    "model_classes",
    "normalize_source",
    "source_hash",
    "variant_hash",
]
