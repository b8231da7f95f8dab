"""Code lens "Evolve this network" above each model class the engine can evolve.

Computed with the stdlib ``ast`` and the cached line-type analysis (no torch, no libcst
metadata), by the analysis worker (:mod:`nnevolve.lsp.analysis_worker`), never on the event
loop: a class deriving from ``nn.Module`` whose body builds layers. A file with a syntax
error offers no lens: the engine could not parse it either. A file over the size cap gets
one label lens saying so; in an untrusted workspace each class's lens says evolve is off.

While a run of the document is in progress, its lenses say so: the server's lens book
(:mod:`nnevolve.lsp.run_lenses`) knows what. A lens that only says something runs
``nnevolve.label``, which does nothing (every lens has a command).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

from nnevolve.genome.model_classes import LAYER_TYPES
from nnevolve.lsp import trust
from nnevolve.lsp.run_lenses import LABEL_COMMAND, model_callee, renders_icons

if TYPE_CHECKING:
    from nnevolve.lsp.analysis_worker import ModelClass
    from nnevolve.lsp.documents import AnalyzedDocument
    from nnevolve.lsp.state import NnevolveLanguageServer


def model_classes_of(document: AnalyzedDocument) -> tuple[ModelClass, ...]:
    """The evolvable classes of one analysed document version (found off the event loop)."""
    return document.classes


def find_model_class(document: AnalyzedDocument, name: str) -> ModelClass | None:
    """The evolvable class (or factory) that the model expression `name` calls, in this
    version of the document."""
    callee = model_callee(name)
    return next((cls for cls in model_classes_of(document) if cls.name == callee), None)


async def code_lens(
    ls: NnevolveLanguageServer, params: types.CodeLensParams
) -> list[types.CodeLens] | None:
    """``textDocument/codeLens``: one lens per evolvable class ("Evolve this network", or
    the state of the document's run)."""
    uri = params.text_document.uri
    document = await ls.documents.analyzed(uri)
    if document is None:
        return None
    if (too_large := document.too_large()) is not None and _builds_layers(document):
        start = types.Position(line=0, character=0)
        label = types.Command(title=f"nnevolve: {too_large}", command=LABEL_COMMAND)
        return [types.CodeLens(range=types.Range(start=start, end=start), command=label)]
    icons = renders_icons(ls.client_name)
    result = []
    for cls in model_classes_of(document):
        position = document.position(cls.line, cls.col)
        command = (
            ls.lenses.lens(uri, cls, icons=icons)
            if ls.trusted
            else types.Command(title=trust.UNTRUSTED_LENS, command=LABEL_COMMAND)
        )
        lens_range = types.Range(start=position, end=position)
        result.append(types.CodeLens(range=lens_range, command=command))
    return result


def _builds_layers(document: AnalyzedDocument) -> bool:
    # a huge data or generated module is not a model file: no lens at all there
    return any(item.type in LAYER_TYPES for item in document.analysis.items)


def register(server: NnevolveLanguageServer) -> None:
    """Offer the evolve lens, and the command of the lenses that are labels."""
    server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))(
        code_lens
    )
    server.command(LABEL_COMMAND)(label)


def label(ls: Any, *arguments: Any) -> None:  # pygls reads these hints at run time
    """``nnevolve.label``: clicking a lens that only says something does nothing."""
