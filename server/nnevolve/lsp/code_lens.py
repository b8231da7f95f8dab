"""Code lens "Evolve this network" above each model class the engine can evolve.

Computed with the stdlib ``ast`` and the cached line-type analysis (no torch, no libcst
metadata): a class deriving from ``nn.Module`` whose body builds layers. A file with a
syntax error offers no lens: the engine could not parse it either.
"""

from __future__ import annotations

import ast
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types

from nnevolve.genome.model_classes import layer_building_classes

if TYPE_CHECKING:
    from nnevolve.lsp.documents import AnalyzedDocument
    from nnevolve.lsp.server import NnevolveLanguageServer

EVOLVE_COMMAND = "nnevolve.evolve"
LENS_TITLE = "Evolve this network"


@dataclass(frozen=True)
class ModelClass:
    """A class of the document that the engine can evolve, with its 1-based line span."""

    name: str
    line: int  # the `class` keyword's line (decorators excluded)
    end_line: int
    col: int


def model_classes_of(document: AnalyzedDocument) -> list[ModelClass]:
    """The evolvable classes of one analysed document version (cached on it)."""
    cached = _CACHE.get(document)
    if cached is not None:
        return cached
    classes: list[ModelClass] = []
    if document.analysis.error is None and not document.analysis.stale:
        try:
            tree = ast.parse(document.source)
        except (SyntaxError, ValueError):
            tree = None
        if tree is not None:
            classes = [
                ModelClass(node.name, node.lineno, node.end_lineno or node.lineno, node.col_offset)
                for node in layer_building_classes(tree, document.analysis)
            ]
    _CACHE[document] = classes
    return classes


# one entry per analysed version (compared by identity), dropped with it
_CACHE: weakref.WeakKeyDictionary[AnalyzedDocument, list[ModelClass]] = weakref.WeakKeyDictionary()


def find_model_class(document: AnalyzedDocument, name: str) -> ModelClass | None:
    """The evolvable class called `name` in this version of the document."""
    return next((cls for cls in model_classes_of(document) if cls.name == name), None)


async def code_lens(
    ls: NnevolveLanguageServer, params: types.CodeLensParams
) -> list[types.CodeLens] | None:
    """``textDocument/codeLens``: one "Evolve this network" lens per evolvable class."""
    uri = params.text_document.uri
    document = await ls.documents.analyzed(uri)
    if document is None:
        return None
    lenses = []
    for cls in model_classes_of(document):
        position = document.position(cls.line, cls.col)
        lenses.append(
            types.CodeLens(
                range=types.Range(start=position, end=position),
                command=types.Command(
                    title=LENS_TITLE,
                    command=EVOLVE_COMMAND,
                    arguments=[{"uri": uri, "model": cls.name}],
                ),
            )
        )
    return lenses


def register(server: NnevolveLanguageServer) -> None:
    """Offer the evolve lens."""
    server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))(
        code_lens
    )
