"""Normalized source: the identity of a variant, blind to formatting, comments and docstrings."""

from __future__ import annotations

import ast
import hashlib

from nnevolve.genome.errors import GenomeError


def _strip_docstrings(tree: ast.Module) -> None:
    """Drop the docstring of the module and of every class and function, in place."""
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            # a body may not be empty: a class or function that held only a docstring keeps `pass`
            node.body = body[1:] or [ast.Pass()]


def normalize_source(source: str) -> str:
    """Return the canonical text of ``source``: ``ast.unparse`` without docstrings or comments.

    Two sources that differ only in formatting, comments or docstrings normalize to the same
    text. Raises :class:`GenomeError` when the source is not valid Python.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise GenomeError(f"source is not valid Python{where}: {exc}") from exc
    _strip_docstrings(tree)
    return ast.unparse(tree)


def source_hash(source: str) -> str:
    """Return the sha256 hex digest of :func:`normalize_source` of ``source``."""
    return hashlib.sha256(normalize_source(source).encode("utf-8")).hexdigest()


def variant_hash(source: str, train_source: str | None = None) -> str:
    """The identity of a variant: its model source's :func:`source_hash`, combined with its
    training script's when the variant carries one (None: the project's script, unchanged)."""
    digest = source_hash(source)
    if train_source is None:
        return digest
    return hashlib.sha256(f"{digest}:{source_hash(train_source)}".encode()).hexdigest()
