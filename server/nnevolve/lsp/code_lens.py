"""Code lens "Evolve this network" above each model class the engine can evolve.

Computed with the stdlib ``ast`` and the cached line-type analysis (no torch, no libcst
metadata): a class deriving from ``nn.Module`` whose body builds layers. A file with a
syntax error offers no lens: the engine could not parse it either.

While a run of the document is in progress (:mod:`nnevolve.lsp.evolve` tells
:class:`Lenses`), the evolved class's lens reads ``$(sync~spin) Evolving Net… · generation
g/G — Cancel`` and runs ``nnevolve.cancel``; the client is asked to refresh its lenses
(``workspace/codeLens/refresh``, when it declared ``refreshSupport``) whenever that text changes.
"""

from __future__ import annotations

import ast
import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types

from nnevolve.genome.model_classes import layer_building_classes

if TYPE_CHECKING:
    from nnevolve.lsp.documents import AnalyzedDocument
    from nnevolve.lsp.server import NnevolveLanguageServer

logger = logging.getLogger(__name__)

EVOLVE_COMMAND = "nnevolve.evolve"
CANCEL_COMMAND = "nnevolve.cancel"
LENS_TITLE = "Evolve this network"
RUNNING_ICON = "$(sync~spin)"  # a VS Code codicon, spinning; other clients show the text as is


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


@dataclass(frozen=True)
class RunningLens:
    """What the lens says while a run of the document is in progress."""

    model: str
    generation: int | None = None  # known once the search has begun
    generations: int | None = None
    cancelling: bool = False


def running_title(state: RunningLens) -> str:
    """``$(sync~spin) Evolving Net… · generation 2/8 — Cancel`` (``Cancelling…`` once asked)."""
    if state.cancelling:
        return f"{RUNNING_ICON} Cancelling the run of {state.model}…"
    where = ""
    if state.generation is not None and state.generations is not None:
        where = f" · generation {state.generation}/{state.generations}"
    return f"{RUNNING_ICON} Evolving {state.model}…{where} — Cancel"


def waiting_title(state: RunningLens) -> str:
    """The lens of the document's other classes while one of them is evolving."""
    return f"One run per file: {state.model} is evolving"


# An empty command id makes a lens a plain label in VS Code (no link, nothing to run).
LABEL_COMMAND = ""


class Lenses:
    """Which documents have a run in progress, as their lenses show it (one book per server)."""

    def __init__(self, server: NnevolveLanguageServer) -> None:
        self.server = server
        self.running: dict[str, RunningLens] = {}
        self.closing = False  # the client asked the server to shut down: send it no requests

    def show(self, uri: str, state: RunningLens | None) -> None:
        """Show `state` on `uri`'s lenses (None: no run); ask for a refresh when that changed."""
        if self.running.get(uri) == state:
            return
        if state is None:
            self.running.pop(uri, None)
        else:
            self.running[uri] = state
        self.refresh()

    def refresh(self) -> None:
        """``workspace/codeLens/refresh``, when the client declared that it supports it."""
        workspace = self.server.client_capabilities.workspace
        if self.closing:
            return
        if workspace and workspace.code_lens and workspace.code_lens.refresh_support:
            self.server.run_in_background(self._refresh())

    async def _refresh(self) -> None:
        try:
            await self.server.workspace_code_lens_refresh_async(None)
        except Exception as error:  # noqa: BLE001 - a client that fails it only shows stale lenses
            logger.warning("the client refused to refresh its code lenses: %s", error)

    def lens(self, uri: str, cls: ModelClass) -> types.Command:
        """The command of `cls`'s lens in document `uri`."""
        state = self.running.get(uri)
        if state is None:
            return types.Command(
                title=LENS_TITLE,
                command=EVOLVE_COMMAND,
                arguments=[{"uri": uri, "model": cls.name}],
            )
        if state.model == cls.name:
            if state.cancelling:
                return types.Command(title=running_title(state), command=LABEL_COMMAND)
            return types.Command(
                title=running_title(state),
                command=CANCEL_COMMAND,
                arguments=[{"uri": uri}],
                tooltip=f"Stop evolving {cls.name}; what was evaluated so far is kept",
            )
        # a label, no command: a second run of this document would be refused (it keeps its line)
        return types.Command(title=waiting_title(state), command=LABEL_COMMAND)


_LENSES: weakref.WeakKeyDictionary[NnevolveLanguageServer, Lenses] = weakref.WeakKeyDictionary()


def lenses(server: NnevolveLanguageServer) -> Lenses:
    """The server's lens book."""
    book = _LENSES.get(server)
    if book is None:
        book = _LENSES[server] = Lenses(server)
    return book


async def code_lens(
    ls: NnevolveLanguageServer, params: types.CodeLensParams
) -> list[types.CodeLens] | None:
    """``textDocument/codeLens``: one lens per evolvable class ("Evolve this network", or
    the state of the document's run)."""
    uri = params.text_document.uri
    document = await ls.documents.analyzed(uri)
    if document is None:
        return None
    book = lenses(ls)
    result = []
    for cls in model_classes_of(document):
        position = document.position(cls.line, cls.col)
        result.append(
            types.CodeLens(
                range=types.Range(start=position, end=position), command=book.lens(uri, cls)
            )
        )
    return result


def register(server: NnevolveLanguageServer) -> None:
    """Offer the evolve lens."""
    server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))(
        code_lens
    )
