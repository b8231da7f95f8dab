"""The one error the genome raises: a model file it cannot work on."""

from __future__ import annotations


class GenomeError(ValueError):
    """A source that cannot be a genome: a syntax error, no model class, an unknown class name."""
